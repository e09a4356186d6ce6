#!/usr/bin/env -S node --max-semi-space-size=4
// V8 flags (the line above; the systemd unit and devstack's run_process pass
// the same, test/unit/devstack/node-flags.test.ts checks they agree):
// --max-semi-space-size=4 caps each of the young generation's semi-spaces
// at 4 MB instead of growing them to 16 MB under load, the largest part of
// the agent's resident size (docs/performance.md, "RSS is V8 heap sizing").
// 1 MB kept RSS lower (84 against 90 MB after the throughput load) but
// scavenged so often that the relay cost ~15 % more CPU per request at 100
// connections (docs/performance.md, "Issue 10: a leaner relay").
import '../dist/cli/main.js';
