#!/bin/sh
# tests/keygen.sh: placeholder until the tests land.
exit 77
