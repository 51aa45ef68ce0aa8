#!/usr/bin/env node
// A committed, executable entry: tsc does not set the execute bit on dist/main.js, and npm links
// bins at install time, before the build has made dist.
import '../dist/main.js';
