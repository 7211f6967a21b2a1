#!/usr/bin/env bash
# Installs what the browser and markup tests drive: Debian's Chromium and ChromeDriver,
# Java (for the Nu Html Checker) and Node (for npm), then the npm test tools pinned in
# tests/tools/package.json. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v java >/dev/null || need+=(default-jre-headless)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (needs root)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -f tools/node_modules/vnu-jar/build/dist/vnu.jar ] || [ ! -f tools/node_modules/axe-core/axe.min.js ]; then
  npm install --prefix tools --no-package-lock --no-audit --no-fund --ignore-scripts --silent
fi
