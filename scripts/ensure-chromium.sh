#!/usr/bin/env bash
# Make sure Debian's chromium (driven by playwright in tests/test_chat_page.py) and a CJK font
# (so the screenshot artefact shows Chinese, not boxes) are installed. Playwright's own browser
# download is never used: it cannot be fetched here, and the distribution package is enough.
# Idempotent and quick when everything is present; needs root (or sudo) only to install.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
if command -v fc-list >/dev/null 2>&1; then
    fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
elif ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
    missing+=(fonts-wqy-microhei)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure-chromium: missing ${missing[*]}; install as root: apt-get install -y ${missing[*]}" >&2
    exit 0  # the browser test then skips (or fails under CI=true) with a clear reason
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no apt-get here; install ${missing[*]} by hand" >&2
    exit 0
fi

echo "ensure-chromium: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
