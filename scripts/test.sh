#!/usr/bin/env bash
# The test stages behind `make test` and its parts. Usage: scripts/test.sh STAGE...
#
#   ruff          ruff check plugins tests scripts
#   changelog     antsibull-changelog lint (fragments and changelogs/changelog.yaml),
#                 and CHANGELOG.md must be what `antsibull-changelog generate` writes
#   docs          antsibull-docs lint-collection-docs --plugin-docs: every module's and
#                 role's documentation renders for the Ansible docsite, its markup
#                 (O(), M(), ...) resolves, and the collection's extra docs are valid
#   unit          pytest tests/unit (a quick gate before the slow stages)
#   types         mypy over plugins/module_utils ([tool.mypy] in pyproject.toml:
#                 by import name through build/collections, for Python 3.9)
#   ansible-lint  ansible-lint, production profile (.ansible-lint)
#   sanity        ansible-test sanity on a copy of the tree under
#                 build/sanity/ansible_collections/netvirt/linux (no ignore files);
#                 SANITY_TEST=pylint (say) runs just that one
#   pytest        one pytest session: unit, integration (root; each test in its own
#                 unshare sandbox) and the build/install/ansible-doc check; first
#                 prints which interpreters prove the claimed versions (oldest
#                 ansible-core, oldest managed-host Python) or that one is missing
#   all           every stage above, in that order, but for two lanes run at once when
#                 there are two cores or more (NETVIRT_TEST_JOBS): sanity in one, docs,
#                 unit, types and ansible-lint in the other (each lane's output printed
#                 whole once both end); pytest runs last so its summary line closes the output
#   soak          the soaks make test leaves out (pytest -m soak): every Molecule
#                 scenario but the one make test runs (and their converges' user paths),
#                 the multi-host runs but stretched_lab.yml's user path, the generated labs beyond the first few
#                 through ansible-playbook
#   molecule      every role's Molecule scenarios end to end (test_molecule.py)
#
# Sandbox.module, four_steps and refused run modules in-process (tests/integration/
# inprocess.py); NETVIRT_TEST_VIA=ansible sends them through ansible-playbook instead.
#
# Stops at the first failing stage. Expects `make venv` to have run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
VENV="$REPO/.venv"
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$REPO/build/collections"
export ANSIBLE_NOCOLOR=1
export PY_COLORS=0
export NO_COLOR=1
# pytest workers for the full session (integration tests are independent).
JOBS=${NETVIRT_TEST_JOBS:-$(nproc)}

[ -x "$PY" ] || { echo "no $VENV: run make venv first" >&2; exit 1; }

stage_ruff() {
    ruff check --no-cache plugins tests scripts
}

stage_changelog() {
    local generated="$REPO/build/changelog/CHANGELOG.md"
    antsibull-changelog lint
    antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
    # CHANGELOG.md is generated from changelogs/changelog.yaml (released versions
    # only; unreleased fragments go in at `antsibull-changelog release`).
    mkdir -p "$(dirname "$generated")"
    antsibull-changelog generate --output "$generated" --output-format md
    if ! diff -u CHANGELOG.md "$generated"; then
        echo "CHANGELOG.md is not what antsibull-changelog generate writes: edit changelogs/, never CHANGELOG.md," \
            "then run .venv/bin/antsibull-changelog generate" >&2
        return 1
    fi
}

stage_docs() {
    # Through build/collections (make venv links the checkout there), where ansible-doc,
    # which antsibull-docs runs, finds the collection.
    antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all \
        "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/netvirt/linux"
}

stage_unit() {
    "$PY" -m pytest -q -p no:cacheprovider tests/unit
}

stage_types() {
    mypy
}

stage_ansible_lint() {
    # --offline: never ask Galaxy for anything; the collection has no dependencies.
    ansible-lint --offline --nocolor
}

stage_sanity() {
    local root="$REPO/build/sanity/ansible_collections/netvirt/linux"
    local version
    version=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    "$PY" "$REPO/scripts/seed_get_pip.py"
    # ansible-test needs the collection at .../ansible_collections/NS/NAME as its
    # real working directory, so it gets a fresh copy of the working tree.
    rm -rf "$root"
    mkdir -p "$root"
    tar -C "$REPO" -cf - \
        --exclude=./.git --exclude=./.venv --exclude=./venv --exclude=./build --exclude=./.ansible \
        --exclude=./tests/output --exclude=.pytest_cache --exclude=.ruff_cache \
        --exclude=__pycache__ --exclude='*.pyc' --exclude='*.tar.gz' . \
        | tar -C "$root" -xf -
    # Its own (empty) git repository: otherwise ansible-test finds this checkout's
    # .git further up, asks it for the files, and build/ being ignored, sees none.
    git -C "$root" init -q
    if [ -d "$root/tests/sanity" ] && find "$root/tests/sanity" -name 'ignore-*.txt' | grep -q .; then
        echo "tests/sanity/ignore-*.txt found: this project allows no sanity ignore files" >&2
        return 1
    fi
    local only=()
    if [ -n "${SANITY_TEST:-}" ]; then
        only=(--test "$SANITY_TEST")
    fi
    (cd "$root" && ansible-test sanity --venv --python "$version" --color no --truncate 0 "${only[@]}")
}

stage_pytest() {
    local args=(-p no:cacheprovider)
    # Which interpreters prove the versions we claim (tests/integration/test_versions.py),
    # or, in capitals, which claim this machine cannot prove (that test is then skipped).
    "$PY" "$REPO/tests/integration/test_versions.py"
    if [ "$JOBS" -gt 1 ]; then
        # loadgroup: tests marked @pytest.mark.xdist_group("name") share one worker
        args+=(-n "$JOBS" --dist loadgroup)
    fi
    "$PY" -m pytest "${args[@]}"
}

stage_soak() {
    local args=(-p no:cacheprovider -m soak)
    if [ "$JOBS" -gt 1 ]; then
        args+=(-n "$JOBS" --dist loadgroup)
    fi
    "$PY" -m pytest "${args[@]}" tests/integration
}

stage_molecule() {
    # -m "": no marker filter, so every scenario, the soaks with the one make test runs.
    "$PY" -m pytest -p no:cacheprovider -m "" tests/integration/test_molecule.py
}

run_stage() {
    local name=$1 fn start rc
    fn="stage_${name//-/_}"
    declare -F "$fn" >/dev/null || { echo "unknown stage: $name" >&2; exit 2; }
    printf '\n==> %s\n' "$name"
    start=$SECONDS
    # A subshell outside any `||`, so that `set -e` holds inside the stage.
    set +e
    (set -e; "$fn")
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        printf '==> %s FAILED (exit %d) after %ds\n' "$name" "$rc" "$((SECONDS - start))"
        exit "$rc"
    fi
    printf '==> %s passed in %ds\n' "$name" "$((SECONDS - start))"
}

# Stages in two lanes at once (each lane's stages one after the other), their output printed
# lane by lane once both have ended; fails if a stage of either lane failed. The checks before
# pytest are single-process and CPU-bound (ansible-test sanity about 80 s, ansible-lint about
# 60 s): on two cores, sanity in one lane and the others in the other end together.
run_lanes() {
    local logs="$REPO/build/test-logs" rc1=0 rc2=0 pid1 pid2
    mkdir -p "$logs"
    # A lane stops at its first failing stage (run_stage exits its subshell).
    (for s in $1; do run_stage "$s"; done) >"$logs/lane1.log" 2>&1 &
    pid1=$!
    (for s in $2; do run_stage "$s"; done) >"$logs/lane2.log" 2>&1 &
    pid2=$!
    wait "$pid1" || rc1=$?
    wait "$pid2" || rc2=$?
    cat "$logs/lane1.log" "$logs/lane2.log"
    if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
        exit $((rc1 ? rc1 : rc2))
    fi
}

[ "$#" -gt 0 ] || set -- all
for stage in "$@"; do
    if [ "$stage" = all ]; then
        for s in ruff changelog; do
            run_stage "$s"
        done
        if [ "$JOBS" -gt 1 ]; then
            run_lanes "docs unit types ansible-lint" "sanity"
        else
            for s in docs unit types ansible-lint sanity; do
                run_stage "$s"
            done
        fi
        # pytest last, with nothing printed after it: CI reads its summary line.
        printf '\n==> pytest (unit + integration + build)\n'
        stage_pytest
    else
        run_stage "$stage"
    fi
done
