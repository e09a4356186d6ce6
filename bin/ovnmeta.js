#!/usr/bin/env -S node --max-semi-space-size=1
// V8 flags (the line above; the systemd unit and devstack's run_process pass
// the same, test/unit/devstack/node-flags.test.ts checks they agree):
// --max-semi-space-size=1 caps each of the young generation's semi-spaces
// at 1 MB instead of growing them to 16 MB under load, the largest part of
// the agent's resident size (docs/performance.md, "RSS is V8 heap sizing").
import '../dist/cli/main.js';
