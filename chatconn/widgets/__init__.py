"""Thin ipywidgets layers over the core, the simulator, the plots and the live layer.

::

    from chatconn.widgets import PolicyPanel, SimulationView, LiveView
    panel = PolicyPanel("seed", target="global-users")
    display(panel.widget, SimulationView(panel).widget, LiveView(panel).widget)

    piece             module                              what it wires
    PolicyPanel       chatconn/widgets/panel.py           sliders -> RetryPolicy.with_changes
    SimulationView    chatconn/widgets/simulation_view.py panel -> simulate -> plotdata -> figures
    LiveView          chatconn/widgets/live_view.py       panel -> lab + run_live -> figures
    StatusIndicator   chatconn/widgets/status.py          manager events -> badge/line/panel
    Toasts            chatconn/widgets/toasts.py          manager events -> notifications

Every text a user reads about a connection comes from :mod:`chatconn.messages` (English and
Russian). Needs ipywidgets and plotly (with anywidget, for ``go.FigureWidget``).
"""

from .live_view import LiveView, lab_profile_for
from .panel import PanelState, PolicyPanel
from .simulation_view import SimulationView
from .status import ConnectionStatus, Notice, StatusIndicator
from .toasts import Toasts

__all__ = [
    "ConnectionStatus",
    "LiveView",
    "Notice",
    "PanelState",
    "PolicyPanel",
    "SimulationView",
    "StatusIndicator",
    "Toasts",
    "lab_profile_for",
]
