#!/usr/bin/env node
import "../dist/node-firmware/cli.js";
