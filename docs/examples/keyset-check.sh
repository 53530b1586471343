#!/bin/sh
# keyset-check.sh DIR [DAYS]: the daily check of a pkjwt key set, run by
# pkjwt-keyset-check.cron or pkjwt-keyset-check.service/.timer.
#
# Prints pkjwt-keygen check's line. When the active certificate expires
# within DAYS (default 30) and no next key is staged (check exits 10), it
# stages one with pkjwt-keygen rotate and prints the base64 certificate to
# upload beside the old one. It exits with check's status (0 nothing due,
# 10 rotate, 11 activate, 12 expired, 3 broken set), so cron mails and a
# systemd unit fails until a person uploads and activates the next key
# (docs/rotation.md).
set -u
dir=${1:?usage: keyset-check.sh DIR [DAYS]}
days=${2:-30}
pkjwt-keygen check --dir "$dir" --within "${days}d"
rc=$?
if [ "$rc" -eq 10 ]; then
  b64=$(pkjwt-keygen rotate --dir "$dir" --quiet) || exit "$rc"
  echo "Staged a next key in $dir. Upload this certificate as a new Private Key JWT secret,"
  echo "keep the old one, then run: pkjwt-keygen activate --dir $dir"
  echo "$b64"
fi
exit "$rc"
