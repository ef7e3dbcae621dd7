#!/usr/bin/env bash
# Mail-in benchmark (bench/mail.py): ingest-mail and IMAP polling from a local Dovecot.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/mail.py
