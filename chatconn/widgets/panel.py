"""PolicyPanel: the controls of a RetryPolicy, a target (profile or population) and a seed.

::

    panel = PolicyPanel("seed", target="global-users")
    panel.observe(lambda state: print(state.policy.base_timeout, state.target))
    panel                          # in a notebook: the sliders
    panel.policy                   # the current valid RetryPolicy

The panel holds no rules of its own: it hands the control values to
:meth:`RetryPolicy.with_changes`, which validates them. A combination the policy rejects
(``max_timeout`` below ``base_timeout``, say) shows the :class:`ConfigError` message under
the controls and leaves :attr:`PolicyPanel.policy` at the last valid policy. Fields without
a control (a ``delays`` table, ``first_delay``, ``wait_from``, ...) come from the policy or
preset last loaded. The diagnostics toggle switches ``policy.diagnostics.enabled`` (its
numbers come from the policy); the deadline slider's 0 means no deadline.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import ipywidgets as W

from ..core.errors import ConfigError
from ..core.policy import JitterMode, RetryPolicy
from ..core.presets import policy_preset, policy_preset_names
from ..core.profiles import NetworkProfile, Population, load_target, population_names, profile_names
from ..core.strategies import Strategy

__all__ = ["PanelState", "PolicyPanel"]

_STYLE = {"description_width": "170px"}
_WIDE = W.Layout(width="460px")
_CUSTOM = ""


@dataclass(frozen=True, slots=True)
class PanelState:
    """What the panel says: a valid policy, a target name and a seed."""

    policy: RetryPolicy
    target: str
    seed: int

    @property
    def target_value(self) -> NetworkProfile | Population:
        return load_target(self.target)


@dataclass(frozen=True, slots=True)
class _Slider:
    field: str
    label: str
    low: float
    high: float
    step: float
    kind: str = "linear"  # "linear" or "int"


#: The sliders, in display order. Bounds widen when a loaded policy lies outside them.
#: Linear steps that put every preset's value exactly on the grid: the front end snaps a
#: slider's value to its step and syncs the snapped value back, which would silently change
#: the policy (a log slider showed seed's 30 s max delay as 31.6 s). A test checks the grid.
SLIDERS = (
    _Slider("base_timeout", "Base timeout (s)", 0.5, 300.0, 0.5),
    _Slider("max_timeout", "Max timeout (s)", 0.5, 300.0, 0.5),
    _Slider("extended_timeout", "Extended timeout (s)", 0.5, 300.0, 0.5),
    _Slider("timeout_growth", "Timeout growth (× per attempt)", 1.0, 3.0, 0.05),
    _Slider("max_attempts", "Max attempts", 1, 30, 1, "int"),
    _Slider("initial_delay", "Initial delay (s)", 0.01, 10.0, 0.01),
    _Slider("multiplier", "Delay multiplier (× per retry)", 1.0, 3.0, 0.001),
    _Slider("max_delay", "Max delay (s)", 0.5, 300.0, 0.5),
    _Slider("jitter", "Jitter (± share of the wait)", 0.0, 1.0, 0.05),
)


def readout_format(step: float) -> str:
    """The readout of a slider shows its real step: as many decimals as the step has (a
    multiplier moving by 0.001 reads "1.400", not "1.40")."""
    text = f"{step:.10f}".rstrip("0")
    return f".{len(text.split('.')[1])}f"


def _make_slider(spec: _Slider) -> W.Widget:
    # continuous_update=False: dragging sends one value, on release (a key press sends
    # each step), instead of one simulation per pixel the handle passes.
    common = {
        "description": spec.label,
        "style": _STYLE,
        "layout": _WIDE,
        "continuous_update": False,
    }
    if spec.kind == "int":
        return W.IntSlider(min=int(spec.low), max=int(spec.high), step=1, **common)
    return W.FloatSlider(
        min=spec.low,
        max=spec.high,
        step=spec.step,
        readout_format=readout_format(spec.step),
        **common,
    )


def _fit(slider: W.Widget, value: float) -> None:
    """Set ``value`` on ``slider``, widening its bounds first so it is not clamped."""
    slider.min = min(slider.min, value)
    slider.max = max(slider.max, value)
    slider.value = value


class PolicyPanel:
    """Sliders and pickers for a :class:`RetryPolicy`, a profile or population, and a seed.

    ``policy``: a RetryPolicy or a preset name (default: the ``seed`` preset). ``target``:
    a profile or population name (:func:`~chatconn.core.profiles.load_target`).
    """

    def __init__(
        self,
        policy: RetryPolicy | str | None = None,
        *,
        target: str = "global-users",
        seed: int = 0,
    ) -> None:
        load_target(target)  # an unknown name raises here, listing the known ones
        self._callbacks: list[Callable[[PanelState], Any]] = []
        self._loading = False
        self.sliders = {spec.field: _make_slider(spec) for spec in SLIDERS}
        self.jitter_mode = W.Dropdown(
            options=[m.value for m in JitterMode], description="Jitter mode", style=_STYLE
        )
        self.preset = W.Dropdown(
            options=[("custom", _CUSTOM), *((n, n) for n in policy_preset_names())],
            value=_CUSTOM,
            description="Load preset",
            style=_STYLE,
        )
        self.diagnostics = W.Checkbox(
            description="Diagnostics first (probe the network, then adapt)",
            style=_STYLE,
            layout=_WIDE,
            indent=False,
        )
        self.deadline = W.FloatSlider(
            min=0.0, max=600.0, step=1.0, readout_format=".3g",
            description="Deadline (s, 0 = none)", style=_STYLE, layout=_WIDE,
        )  # fmt: skip
        self.ladder = W.TagsInput(
            allowed_tags=[s.value for s in Strategy], allow_duplicates=True, layout=_WIDE
        )
        # Adds a rung on Enter (TagsInput itself took one only on Tab): the value reaches
        # the kernel on Enter or when the box loses focus (continuous_update=False).
        self.add_rung = W.Combobox(
            options=[s.value for s in Strategy],
            ensure_option=True,
            continuous_update=False,
            placeholder="add a rung: type or pick, then Enter",
            description="Add rung",
            style=_STYLE,
            layout=_WIDE,
        )
        self.add_rung.observe(self._on_add_rung, names="value")
        self.target = W.Dropdown(
            options=[(f"{n} (profile)", n) for n in profile_names()]
            + [(f"{n} (population)", n) for n in population_names()],
            value=target,
            description="Profile or population",
            style=_STYLE,
        )
        self.seed = W.BoundedIntText(
            value=seed, min=0, max=2**31 - 1, description="Seed", style=_STYLE
        )
        self.message = W.HTML()
        self.preset.observe(self._on_preset, names="value")
        controls = (*self.sliders.values(), self.jitter_mode, self.ladder)
        for control in (*controls, self.diagnostics, self.deadline):
            control.observe(self._on_control, names="value")
        for control in (self.target, self.seed):
            control.observe(self._on_target, names="value")
        self.widget = W.VBox(
            [
                self.preset,
                W.HTML("<b>Timeouts</b>"),
                *(self.sliders[f] for f in ("base_timeout", "max_timeout", "extended_timeout")),
                self.sliders["timeout_growth"],
                self.deadline,
                W.HTML("<b>Retries</b>"),
                *(self.sliders[f] for f in ("max_attempts", "initial_delay", "multiplier")),
                *(self.sliders[f] for f in ("max_delay", "jitter")),
                self.jitter_mode,
                W.HTML("<b>Strategy ladder</b> (drag to reorder; the last rung repeats)"),
                self.ladder,
                self.add_rung,
                self.diagnostics,
                W.HTML("<b>Who connects</b>"),
                self.target,
                self.seed,
                self.message,
            ]
        )
        self.widget.add_class("chatconn-policy-panel")
        if isinstance(policy, str):
            self.load_preset(policy)
        else:
            self.set_policy(policy if policy is not None else RetryPolicy())

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a front end
        from IPython.display import display

        display(self.widget)

    # -- reading ---------------------------------------------------------------------
    @property
    def policy(self) -> RetryPolicy:
        """The current valid policy (the last valid one while the controls are invalid)."""
        return self._policy

    @property
    def state(self) -> PanelState:
        return PanelState(self._policy, self.target.value, int(self.seed.value))

    @property
    def error(self) -> str:
        """The message shown for an invalid combination, or "" when the controls are valid."""
        return self._error

    def observe(self, callback: Callable[[PanelState], Any]) -> Callable[[], None]:
        """Call ``callback(panel.state)`` on every valid change (a new valid policy, target
        or seed; an invalid combination does not call it); returns an unsubscribe."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    # -- writing ---------------------------------------------------------------------
    def set_policy(self, policy: RetryPolicy) -> None:
        """Show ``policy`` in the controls (fields without a control are kept from it)."""
        if not isinstance(policy, RetryPolicy):
            raise ConfigError("policy", policy, "expected a RetryPolicy or a preset name")
        with self._quiet():
            for name, slider in self.sliders.items():
                _fit(slider, getattr(policy, name))
            self.jitter_mode.value = policy.jitter_mode.value
            self.ladder.value = [s.value for s in policy.ladder]
            self.diagnostics.value = policy.diagnostics.enabled
            _fit(self.deadline, policy.deadline or 0.0)
            self.preset.value = _CUSTOM
        self._base = policy
        self._policy = policy
        self._show_error("")
        self._notify()

    def load_preset(self, name: str) -> None:
        """Load the preset ``name`` (see :func:`~chatconn.core.presets.policy_preset`)."""
        self.set_policy(policy_preset(name))
        with self._quiet():
            self.preset.value = name

    # -- wiring ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        loading, self._loading = self._loading, True
        try:
            yield
        finally:
            self._loading = loading

    def _on_preset(self, change: dict[str, Any]) -> None:
        if not self._loading and change["new"] != _CUSTOM:
            self.load_preset(change["new"])

    def _on_control(self, _change: dict[str, Any]) -> None:
        if self._loading:
            return
        with self._quiet():
            self.preset.value = _CUSTOM  # the controls no longer show a preset as published
        values: dict[str, Any] = {name: s.value for name, s in self.sliders.items()}
        values["jitter_mode"] = self.jitter_mode.value
        values["ladder"] = tuple(self.ladder.value)
        values["diagnostics"] = replace(self._base.diagnostics, enabled=self.diagnostics.value)
        values["deadline"] = self.deadline.value or None
        try:
            policy = self._base.with_changes(**values)
        except ConfigError as exc:
            self._show_error(str(exc))
            return
        self._policy = policy
        self._show_error("")
        self._notify()

    def _on_add_rung(self, change: dict[str, Any]) -> None:
        rung = change["new"]
        if rung in self.ladder.allowed_tags:
            self.ladder.value = [*self.ladder.value, rung]  # validated like any change
        if rung:
            self.add_rung.value = ""  # ready for the next one

    def _on_target(self, _change: dict[str, Any]) -> None:
        if not self._loading:
            self._notify()

    def _show_error(self, text: str) -> None:
        self._error = text
        self.message.value = (
            f'<span style="color:#b2182b">⚠ {html.escape(text)} — the figures keep the last '
            f"valid policy.</span>"
            if text
            else ""
        )

    def _notify(self) -> None:
        state = self.state
        for callback in list(self._callbacks):
            callback(state)
