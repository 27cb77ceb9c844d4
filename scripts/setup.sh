# Shared set-up for ./run.sh and ./test.sh (sourced, not run): system packages, .venv, the app.
# Idempotent: a second run checks and returns in about a second.
#   setup_machi app   # what the counter app needs
#   setup_machi dev   # plus what the tests need

MACHI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MACHI_VENV="$MACHI_ROOT/.venv"
MACHI_MIN_PYTHON="3.11"

# Debian/Ubuntu packages. The app: barcode library for pyzbar, Japanese fonts, the PC/SC
# daemon for NFC readers, aplay for the approve/refuse sounds, and the X11/GL libraries Qt's
# window needs.
MACHI_APP_PACKAGES="libzbar0 fonts-noto-cjk pcscd libpcsclite1 alsa-utils libxkbcommon0 libegl1 libgl1 \
libfontconfig1 libdbus-1-3 libglib2.0-0 libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 \
libxcb-xfixes0 libxcb-xkb1"
# The tests and screenshots: a virtual screen, PDF tools to look at exports (poppler-data
# holds the Japanese CMaps pdftotext needs to read the exported sheets back; apt only
# recommends it, and recommends are not installed), and the PostgreSQL server programs the
# ledger's tests start throwaway clusters with, and Debian's Chromium with its driver for the
# office console's browser tests (Selenium drives the system browser; nothing is downloaded).
MACHI_DEV_PACKAGES="xvfb poppler-utils poppler-data postgresql chromium chromium-driver"

machi_say() { printf '[machi-pos] %s\n' "$*" >&2; }

machi_find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c "import sys; sys.exit(sys.version_info < (${MACHI_MIN_PYTHON/./, }))" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

machi_missing_packages() {
    local pkg
    command -v dpkg-query >/dev/null 2>&1 || return 0
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            printf '%s ' "$pkg"
    done
}

machi_system_packages() {
    local wanted="$MACHI_APP_PACKAGES" missing sudo_cmd=""
    [ "$1" = dev ] && wanted="$wanted $MACHI_DEV_PACKAGES"
    if ! command -v dpkg-query >/dev/null 2>&1; then
        machi_say "not a Debian/Ubuntu system: install the equivalents of: $wanted"
        return 0
    fi
    # A Python without ensurepip cannot make a venv: Debian splits it into pythonX.Y-venv.
    if ! "$MACHI_PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
        wanted="$wanted python$("$MACHI_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
    fi
    missing="$(machi_missing_packages $wanted)"
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo_cmd="sudo"
        else
            machi_say "missing system packages: $missing"
            machi_say "install them with:  sudo apt-get install -y $missing"
            machi_say "continuing; without them Japanese text, pyzbar decoding, card readers or the window may not work"
            return 0
        fi
    fi
    machi_say "installing system packages: $missing"
    if ! { $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; }; then
        machi_say "apt-get could not install: $missing (continuing; see the messages above)"
    fi
}

machi_venv() {
    local extras="$1" stamp want
    if [ ! -x "$MACHI_VENV/bin/python" ] || ! "$MACHI_VENV/bin/python" -c "" 2>/dev/null; then
        machi_say "creating $MACHI_VENV"
        rm -rf "$MACHI_VENV"
        "$MACHI_PYTHON" -m venv "$MACHI_VENV" || return 1
    fi
    stamp="$MACHI_VENV/.machi-installed"
    want="$extras $(sha256sum "$MACHI_ROOT/pyproject.toml" | cut -d' ' -f1)"
    # dev includes app: an app run after a dev install needs nothing more
    if [ -f "$stamp" ] && { [ "$(cat "$stamp")" = "$want" ] ||
         { [ "$extras" = app ] && [ "$(cut -d' ' -f2 "$stamp")" = "${want#app }" ]; }; }; then
        return 0
    fi
    machi_say "installing Python packages into .venv ($extras)"
    # app: the counter and the ledger its --demo runs; dev: what the tests need as well
    # (pyzbar: the second barcode backend's tests; build, pyinstaller: the packaging tests)
    local spec="$MACHI_ROOT[ledger]"
    [ "$extras" = dev ] && spec="$MACHI_ROOT[ledger,pyzbar,dev]"
    "$MACHI_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null || return 1
    "$MACHI_VENV/bin/python" -m pip install -q -e "$spec" || return 1
    echo "$want" > "$stamp"
}

machi_translations() {
    # Qt's compiled translations (.qm) are built from the .ts sources in terminal/resources/i18n.
    local ts qm
    for ts in "$MACHI_ROOT"/terminal/resources/i18n/*.ts; do
        [ -e "$ts" ] || continue
        qm="${ts%.ts}.qm"
        if [ ! -f "$qm" ] || [ "$ts" -nt "$qm" ]; then
            "$MACHI_VENV/bin/pyside6-lrelease" -silent "$ts" -qm "$qm" ||
                machi_say "could not build $qm: the app will run in English"
        fi
    done
}

setup_machi() {
    MACHI_PYTHON="$(machi_find_python)" || {
        machi_say "Python $MACHI_MIN_PYTHON or newer is needed (sudo apt-get install python3 python3-venv)"
        return 1
    }
    machi_system_packages "$1"
    machi_venv "$1" || return 1
    machi_translations
}
