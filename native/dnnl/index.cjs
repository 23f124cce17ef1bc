'use strict';
// Loads the oneDNN addon. Never throws: exports null (and `loadError` says why) when the addon
// was not built (no compiler, no libdnnl-dev, OSTEON_DNNL_SKIP=1 at install) or cannot load
// (libdnnl.so.2 missing at run time).
const path = require('node:path');
const fs = require('node:fs');

const file = path.join(__dirname, 'build', 'Release', 'osteon_dnnl.node');
let addon = null;
let loadError = null;
if (!fs.existsSync(file)) {
  let why = 'not built';
  try {
    why = fs.readFileSync(path.join(__dirname, 'build', 'status.txt'), 'utf8').trim() || why;
  } catch {
    // no status file: never installed through scripts/build.cjs
  }
  loadError = `addon not built: ${why}`;
} else {
  try {
    addon = require(file);
  } catch (e) {
    const msg = String((e && e.message) || e).split('\n')[0];
    loadError = /libdnnl/.test(msg) ? `libdnnl not found: ${msg}` : `addon failed to load: ${msg}`;
  }
}
module.exports = { addon, loadError, file };
