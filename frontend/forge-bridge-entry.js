// The parts of @forge/bridge the pages use, as one browser script (window.ForgeBridge) for the
// Forge Custom UI bundle: built by `worklog360 forge-app` with esbuild, nothing fetched at run
// time. The pages reach it only through static/js/door-forge.js.
import { invokeRemote, requestJira, router, showFlag, view } from "@forge/bridge";

window.ForgeBridge = { invokeRemote, requestJira, router, showFlag, view };
