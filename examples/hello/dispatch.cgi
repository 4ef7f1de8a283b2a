#!/usr/bin/node
require('../../dist/src').dispatch({ app: './app.js' });
