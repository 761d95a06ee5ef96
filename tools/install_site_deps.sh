#!/usr/bin/env bash
# System packages for the offline docs site (tools/build_site.py) and its browser test (tests/test_site.py):
#   chromium     the headless browser the test drives over the DevTools protocol (Debian package; skipped when a
#                Chromium/Chrome is already on PATH, e.g. on GitHub's Ubuntu runners, where `chromium` is a snap stub)
#   libjs-katex  KaTeX (js, css, auto-render; fonts from fonts-katex), copied into the site: math without any CDN
#   dataset-fashion-mnist  the Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist (chapters 05 and 25b read
#                them; their cells skip where the package is absent)
# Idempotent and non-interactive; uses sudo only when not root; does nothing when everything is present.
set -euo pipefail
have_browser() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; }
PKGS=(libjs-katex fonts-katex)
have_browser || PKGS+=(chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_site_deps: nothing to install"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install_site_deps: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Fashion-MNIST is optional (its cells skip without it): a distribution that lacks the package must not fail CI.
if ! dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q 'install ok installed'; then
  SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist \
    || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist; }; } \
    || echo "install_site_deps: dataset-fashion-mnist not available here; its cells will skip"
fi
have_browser || { echo "install_site_deps: no chromium/chrome on PATH" >&2; exit 1; }
test -f /usr/share/javascript/katex/katex.min.js || { echo "install_site_deps: KaTeX missing (libjs-katex)" >&2; exit 1; }
echo "install_site_deps: browser $(command -v chromium || command -v chromium-browser || command -v google-chrome); KaTeX /usr/share/javascript/katex"
