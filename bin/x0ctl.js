#!/usr/bin/env node
import "../dist/ctl/cli.js";
