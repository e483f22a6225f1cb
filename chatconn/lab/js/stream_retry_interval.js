// stream-chat's own retryInterval(n), taken from the code the SDK runs (dist/cjs/index.node.js:
// the function is not exported from the package root), evaluated with Math.random replaced by
// given uniforms. Reads {"n": [...], "u": [...]} as JSON on argv[2]; prints one JSON line per
// (n, u): {"n": n, "u": u, "ms": retryInterval(n)} and first a line naming the file it read.
"use strict";
const fs = require("fs");
const path = require("path");

// The package root (its "exports" hide package.json): the folder holding dist/ of the resolved main.
const main = require.resolve("stream-chat");
const pkgDir = main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`));
const file = path.join(pkgDir, "dist", "cjs", "index.node.js");
const text = fs.readFileSync(file, "utf8");
const match = text.match(/function retryInterval\(numberOfFailures\) \{[\s\S]*?\n\}/);
if (!match) throw new Error(`retryInterval not found in ${file}`);
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
console.log(JSON.stringify({ file: path.relative(pkgDir, file), version, source: match[0] }));

const { n: ns, u: us } = JSON.parse(process.argv[2]);
let next = 0;
const fakeMath = Object.create(Math);
fakeMath.random = () => us[next];
// eslint-disable-next-line no-new-func
const retryInterval = new Function("Math", `${match[0]}\nreturn retryInterval;`)(fakeMath);
for (const n of ns) {
  for (next = 0; next < us.length; next++) {
    console.log(JSON.stringify({ n, u: us[next], ms: retryInterval(n) }));
  }
}
