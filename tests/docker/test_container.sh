#!/usr/bin/env bash
# test_container.sh: end-to-end test of the kakaowatch container image.
#
# Not part of CI (CI has no container tools). Needs root, podman, buildah
# (../shared/tools/container-check installs them), python3 and python3-yaml
# on the host. Builds both images: IMAGE (small, the default target) and
# BIMAGE (--target browser, default kakaowatch:test-browser).
#
#   tests/docker/test_container.sh          (from anywhere; it cd's to the repo root)
#   KW_KEEP_TMP=1 tests/docker/test_container.sh   keep the temp dir and logs
#   IMAGE=kakaowatch:dev BIMAGE=kakaowatch:dev-browser tests/docker/test_container.sh
#
# What it proves, against loopback servers on the host network only:
#   1. the image builds with container-check; `kakaowatch --version` runs in it;
#   2. `kakaowatch check` passes on the shipped config and on the test config;
#   3. `kakaowatch auth --no-listen` (the redirected address pasted on stdin,
#      then again with a bare code while the daemon runs) writes the token
#      file into the /data volume, mode 0600, owned by the container user;
#   4. the daemon (the image's default command) stores a baseline, a page
#      changes, and the fake Kakao receives a list message with the new items;
#   5. the daemon's process (PID 1) runs as uid 10001, not root;
#   6. editing the mounted YAML on the host (write + rename, as editors do) is
#      picked up: the daemon logs a reload and starts checking the new watch;
#      an in-place edit and SIGHUP reload it too;
#   7. the HEALTHCHECK command `kakaowatch status --health` exits 0;
#   8. `podman stop` (SIGTERM) stops it with exit status 0 within 3 s;
#   9. the browser image (Dockerfile target `browser`) builds; the small image
#      refuses a `render: browser` watch in `check`, the browser image accepts
#      it; its daemon, started on the small image's volume (the switch a user
#      makes), keeps the baselines and reports exactly the new entries of a
#      list a script builds from a JSON request, as uid 10001;
#  10. no secret (client secret, code, tokens) appears in any output.
#  11. docker/compose.yaml: `docker compose config` where installed; always,
#      its two services build the two targets on the same config and volume.
# Functions called through wait_for / trap look unreachable to shellcheck.
# shellcheck disable=SC2317
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
CHECK=${CONTAINER_CHECK:-../shared/tools/container-check}
IMAGE=${IMAGE:-kakaowatch:test}
BIMAGE=${BIMAGE:-kakaowatch:test-browser}
# docker format keeps HEALTHCHECK (OCI drops it); layers make reruns fast.
export BUILDAH_FORMAT=${BUILDAH_FORMAT:-docker}
export BUILDAH_LAYERS=${BUILDAH_LAYERS:-true}
# The same runtime flags container-check uses (this sandbox needs them).
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
RUNFLAGS=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
CUID=10001

CLIENT_ID=kwtest-rest-api-key-4f2a
CLIENT_SECRET=kwtest-client-secret-9c1e7b
REDIRECT=http://localhost:5000/oauth

tmp=$(mktemp -d /tmp/kw-docker-XXXXXX)
chmod 755 "$tmp"
logs=$tmp/logs
mkdir -p "$logs" "$tmp/pages" "$tmp/config"
tag=kwtest-$$
cname=$tag-daemon
bname=$tag-browser
vol=$tag-data
pids=()
npass=0
nfail=0
failed=()

pass() {
	npass=$((npass + 1))
	printf 'PASS  %s\n' "$1"
}

fail() {
	nfail=$((nfail + 1))
	failed+=("$1")
	printf 'FAIL  %s\n' "$1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		sed 's/^/      | /' "$2" | tail -n 25
	fi
}

cleanup() {
	for c in "$cname" "$bname"; do
		if "${PODMAN[@]}" container exists "$c" 2>/dev/null; then
			"${PODMAN[@]}" logs "$c" >"$logs/$c.final.log" 2>&1
			"${PODMAN[@]}" rm -f -t 0 "$c" >/dev/null 2>&1
		fi
	done
	"${PODMAN[@]}" volume rm -f "$vol" >/dev/null 2>&1
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "${KW_KEEP_TMP:-}" ] || [ "$nfail" -ne 0 ]; then
		echo "logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD...: run CMD every 0.5 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			return 1
		fi
		sleep 0.5
	done
}

# start_fake NAME SCRIPT ARGS...: start a fake server, sets $port.
start_fake() {
	local name=$1 script=$2
	shift 2
	python3 -B "tests/fakes/$script" --port 0 --port-file "$tmp/$name.port" \
		"$@" >"$logs/$name.out" 2>"$logs/$name.err" &
	pids+=($!)
	if ! wait_for 10 test -s "$tmp/$name.port"; then
		echo "cannot start $script" >&2
		cat "$logs/$name.err" >&2
		exit 1
	fi
	port=$(tr -d '\n' <"$tmp/$name.port")
}

# http METHOD URL [JSON]: prints the body.
http() {
	curl -fsS --max-time 10 -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "$2"
}

# write_file PATH: stdin to PATH via a temp file and rename (as editors do).
write_file() {
	cat >"$1.tmp.$$" && chmod 644 "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}

page_count() {
	http GET "http://127.0.0.1:$pport/count?path=$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}

page_count_at_least() {
	[ "$(page_count "$1")" -ge "$2" ]
}

kakao_messages() {
	http GET "http://127.0.0.1:$kport/_control/messages" >"$tmp/messages.json"
}

# has_message TEXT...: a sent message's template holds every TEXT.
has_message() {
	kakao_messages || return 1
	python3 - "$tmp/messages.json" "$@" <<'EOF'
import json, sys
msgs = json.load(open(sys.argv[1]))["messages"]
want = sys.argv[2:]
for m in msgs:
    tpl = m.get("template_object")
    text = json.dumps(tpl, ensure_ascii=False) if tpl is not None else ""
    text += m.get("raw") or ""
    if all(w in text for w in want):
        sys.exit(0)
sys.exit(1)
EOF
}

daemon_logs() {
	"${PODMAN[@]}" logs "$cname" >"$logs/daemon.log" 2>&1
}

# reload_count: how many reload lines the daemon has logged.
reload_count() {
	daemon_logs
	grep -Eci 'reload' "$logs/daemon.log"
}

reloaded_since() {
	[ "$(reload_count)" -gt "$1" ]
}

board_page() {
	# board_page ITEM...: a page with one <li><a> per item.
	echo '<!doctype html><html><head><meta charset="utf-8"><title>board</title></head><body><ul id="posts">'
	for t in "$@"; do
		printf '<li><a href="/post/%s">%s</a></li>\n' "${t// /-}" "$t"
	done
	echo '</ul></body></html>'
}

write_config() {
	# write_config [extra watch yaml]: the test config, state in /data.
	write_file "$tmp/config/kakaowatch.yaml" <<EOF
# written by tests/docker/test_container.sh
state_dir: \${KAKAOWATCH_STATE_DIR}
kakao:
  rest_api_key: \${KAKAO_REST_API_KEY}
  client_secret: \${KAKAO_CLIENT_SECRET:-}
  redirect_uri: $REDIRECT
  auth_base_url: http://127.0.0.1:$kport
  api_base_url: http://127.0.0.1:$kport
  sink: kakao
defaults:
  interval: 2s
  jitter: 0%
  timeout: 10s
watches:
  - name: board
    url: http://127.0.0.1:$pport/board.html
    xpath: //ul[@id='posts']/li/a
$1
EOF
}

run_in_image() {
	# run_in_image [podman run args...] -- ARGS...: one-off container
	# of $IMG (default $IMAGE).
	local args=()
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	"${PODMAN[@]}" run --rm "${RUNFLAGS[@]}" --no-healthcheck "${args[@]}" \
		-v "$tmp/config:/config:ro" -v "$vol:/data" \
		-e KAKAO_REST_API_KEY="$CLIENT_ID" \
		-e KAKAO_CLIENT_SECRET="$CLIENT_SECRET" \
		"${IMG:-$IMAGE}" "$@"
}

# script_page: a list built in the browser by a script from a JSON request
# (the HTML itself holds no items).
script_page() {
	cat <<'EOF'
<!doctype html><html><head><meta charset="utf-8"><title>tickets</title></head>
<body><ul id="list"></ul><script>
fetch('/items.json').then(r => r.json()).then(items => {
  const ul = document.getElementById('list');
  for (const it of items) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '/show/' + it.id;
    a.textContent = it.title;
    li.appendChild(a);
    ul.appendChild(li);
  }
});
</script></body></html>
EOF
}

# tickets_watch: the YAML of a render: browser watch on that list.
tickets_watch() {
	printf '%s\n' "  - name: tickets" \
		"    url: http://127.0.0.1:$pport/list.html" \
		"    xpath: //ul[@id='list']/li/a" \
		"    render: browser" "    interval: 4s" "    timeout: 30s"
}

bdaemon_logs() {
	"${PODMAN[@]}" logs "$bname" >"$logs/browser-daemon.log" 2>&1
}

message_count() {
	kakao_messages &&
		python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$tmp/messages.json"
}

echo "== kakaowatch container test (image $IMAGE, temp $tmp)"

# ---- 1. build + --version --------------------------------------------------
echo "== building with $CHECK (a few minutes the first time)"
if IMAGE=$IMAGE "$CHECK" >"$logs/build.log" 2>&1 &&
	grep -Eq '^kakaowatch [0-9]+\.[0-9]+' "$logs/build.log"; then
	pass "image builds; kakaowatch --version: $(grep -E '^kakaowatch [0-9]' "$logs/build.log" | tail -n 1)"
else
	fail "image build / kakaowatch --version" "$logs/build.log"
	echo "SUMMARY: FAIL (the image did not build)"
	exit 1
fi

cfg=$("${PODMAN[@]}" image inspect "$IMAGE" --format \
	'{{.Config.User}} {{.Config.StopSignal}} {{json .Config.Volumes}}')
hc=$("${PODMAN[@]}" inspect "$IMAGE" --format '{{json .HealthCheck}}')
if [ "$cfg" = '10001:10001 SIGTERM {"/data":{}}' ] &&
	[[ $hc == *'"kakaowatch","status","--health"'* ]]; then
	pass "image config: USER 10001, STOPSIGNAL SIGTERM, VOLUME /data, HEALTHCHECK status --health"
else
	fail "image config: got '$cfg' healthcheck '$hc'"
fi
desc=$("${PODMAN[@]}" image inspect "$IMAGE" --format \
	'{{index .Config.Labels "org.opencontainers.image.description"}}')
if [[ $desc == *'no browser'*'--target browser'* ]]; then
	pass "the small image's description says how to get the browser: $desc"
else
	fail "the small image's org.opencontainers.image.description: '$desc'"
fi

# ---- 2. check ----------------------------------------------------------------
if IMAGE=$IMAGE "$CHECK" -- kakaowatch check >"$logs/check-shipped.log" 2>&1 &&
	grep -q 'configuration OK' "$logs/check-shipped.log"; then
	pass "kakaowatch check on the shipped config (/config/kakaowatch.yaml in the image)"
else
	fail "kakaowatch check on the shipped config" "$logs/check-shipped.log"
fi

# ---- servers on the host ---------------------------------------------------
start_fake pages pageserver.py --root "$tmp/pages"
pport=$port
start_fake kakao fake_kakao.py --client-id "$CLIENT_ID" \
	--client-secret "$CLIENT_SECRET" --redirect-uri "$REDIRECT"
kport=$port
echo "== page server on 127.0.0.1:$pport, fake Kakao on 127.0.0.1:$kport"

board_page "first post" "second post" | write_file "$tmp/pages/board.html"
board_page "other one" "other two" | write_file "$tmp/pages/other.html"
write_config ""

if IMAGE=$IMAGE RUN_ARGS="-v $tmp/config:/config:ro -e KAKAO_REST_API_KEY=$CLIENT_ID" \
	"$CHECK" -- kakaowatch check >"$logs/check-test.log" 2>&1 &&
	grep -q 'configuration OK' "$logs/check-test.log"; then
	pass "kakaowatch check on the test config (bind-mounted /config)"
else
	fail "kakaowatch check on the test config" "$logs/check-test.log"
fi

# ---- 3. auth --no-listen into a named volume --------------------------------
"${PODMAN[@]}" volume create "$vol" >/dev/null
# As a user does: open the printed address (the fake Kakao redirects at once,
# as if logged in and agreed), paste the address the browser ends up on.
mkfifo "$tmp/auth.in"
run_in_image -i -- auth --no-listen <"$tmp/auth.in" >"$logs/auth.log" 2>&1 &
apid=$!
exec 3>"$tmp/auth.in"
wait_for 60 grep -q '/oauth/authorize?' "$logs/auth.log"
url=$(grep -o "http://127.0.0.1:$kport/oauth/authorize?[^ ]*" "$logs/auth.log" | head -n 1)
redirect=$(curl -sS -o /dev/null -w '%{redirect_url}' "${url:-none}")
code=$(python3 -c 'import sys, urllib.parse as u
print(u.parse_qs(u.urlsplit(sys.argv[1]).query).get("code", [""])[0])' "$redirect")
printf '%s\n' "$redirect" >&3
exec 3>&-
wait "$apid"
rc=$?
mnt=$("${PODMAN[@]}" volume inspect "$vol" --format '{{.Mountpoint}}')
tok=$mnt/kakao_token.json
if [ -n "$code" ] && [ "$rc" -eq 0 ] && [ -f "$tok" ]; then
	pass "kakaowatch auth --no-listen (redirect URL pasted on stdin) exits 0 and writes /data/kakao_token.json"
else
	fail "kakaowatch auth --no-listen: exit $rc, token file $(ls -l "$tok" 2>&1)" "$logs/auth.log"
fi
perm=$(stat -c '%a %u' "$tok" 2>/dev/null)
if [ "$perm" = "600 $CUID" ]; then
	pass "token file is mode 0600 and owned by uid $CUID (the container user)"
else
	fail "token file mode/owner: got '$perm', want '600 $CUID'"
fi
dperm=$(stat -c '%a %u' "$mnt" 2>/dev/null)
if [ "$dperm" = "700 $CUID" ]; then
	pass "/data volume is mode 0700, owned by uid $CUID"
else
	fail "/data volume mode/owner: got '$dperm', want '700 $CUID'"
fi

# ---- 4. the daemon: baseline, change, message -------------------------------
# --health-interval disable: keep the image's HEALTHCHECK (for
# `podman healthcheck run`) without podman's systemd timer (no systemd here).
"${PODMAN[@]}" run -d --name "$cname" "${RUNFLAGS[@]}" \
	--health-interval disable \
	-v "$tmp/config:/config:ro" -v "$vol:/data" \
	-e KAKAO_REST_API_KEY="$CLIENT_ID" -e KAKAO_CLIENT_SECRET="$CLIENT_SECRET" \
	"$IMAGE" >"$logs/daemon.id" 2>"$logs/daemon.start.err"
if ! wait_for 10 "${PODMAN[@]}" exec "$cname" true; then
	fail "daemon container starts" "$logs/daemon.start.err"
	daemon_logs
	fail "daemon log" "$logs/daemon.log"
	echo "SUMMARY: FAIL ($npass passed, $nfail failed)"
	exit 1
fi

# Two fetches done means the first (the baseline) is complete.
if wait_for 60 page_count_at_least /board.html 2; then
	pass "daemon fetched the page and stored the baseline ($(page_count /board.html) requests)"
else
	daemon_logs
	fail "daemon never fetched /board.html twice" "$logs/daemon.log"
fi
kakao_messages
before=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$tmp/messages.json")
if [ "$before" = 0 ]; then
	pass "the baseline sent nothing"
else
	fail "the baseline sent $before message(s)"
fi

board_page "brand new post" "first post" "another new post" "second post" |
	write_file "$tmp/pages/board.html"
if wait_for 60 has_message "brand new post" "another new post"; then
	pass "page changed -> fake Kakao received a message with both new items"
	python3 - "$tmp/messages.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["messages"][-1]["template_object"]
print("      message: %s %s" % (m.get("object_type"),
      m.get("header_title", m.get("text", ""))))
EOF
else
	daemon_logs
	fail "no message with the new items reached the fake Kakao" "$logs/daemon.log"
fi

# Re-authorizing while the daemon runs (what a user does after KOE322):
# a one-off `auth --no-listen` on the same volume.
code2=$(http POST "http://127.0.0.1:$kport/_control/issue-code" '{}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
printf '%s\n' "$code2" |
	run_in_image -i -- auth --no-listen >"$logs/auth2.log" 2>&1
rc=$?
perm=$(stat -c '%a %u' "$tok" "$tok.bak" 2>/dev/null | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$perm" = "600 $CUID 600 $CUID " ]; then
	pass "auth --no-listen again while the daemon runs: new token file + .bak, both 0600 uid $CUID"
else
	fail "second auth while running: exit $rc, modes '$perm'" "$logs/auth2.log"
fi

# ---- 5. non-root -------------------------------------------------------------
uids=$("${PODMAN[@]}" exec "$cname" cat /proc/1/status /proc/1/comm |
	awk '/^Uid:/ {u = $2 " " $3} END {print u, $0}')
if [ "$uids" = "$CUID $CUID kakaowatch" ]; then
	pass "PID 1 is kakaowatch running as uid $CUID (not root)"
else
	fail "PID 1 uid/euid/command: $uids"
fi

# ---- 6. edit the mounted YAML: reload ----------------------------------------
reloads=$(reload_count)
write_config "  - name: other
    url: http://127.0.0.1:$pport/other.html
    xpath: //ul[@id='posts']/li/a"
if wait_for 30 reloaded_since "$reloads"; then
	pass "editing the mounted YAML (write + rename) -> daemon logged: $(grep -i reload "$logs/daemon.log" | tail -n 1)"
else
	fail "no reload in the daemon log after editing the YAML" "$logs/daemon.log"
fi
if wait_for 30 page_count_at_least /other.html 1; then
	pass "the watch added by the edit is being checked"
else
	fail "the added watch never fetched /other.html" "$logs/daemon.log"
fi

# An in-place edit (same inode: truncate + write, as `cat >FILE` does).
reloads=$(reload_count)
{ cat "$tmp/config/kakaowatch.yaml"; echo "    interval: 3s"; } >"$tmp/edit.yaml"
cat "$tmp/edit.yaml" >"$tmp/config/kakaowatch.yaml"
if wait_for 30 reloaded_since "$reloads"; then
	pass "an in-place edit of the mounted YAML -> daemon logged: $(grep -i reload "$logs/daemon.log" | tail -n 1)"
else
	fail "no reload after an in-place edit of the YAML" "$logs/daemon.log"
fi

# SIGHUP (docker kill -s HUP) re-reads it too: the fallback where file events
# do not cross the mount (Docker Desktop's file sharing).
reloads=$(reload_count)
"${PODMAN[@]}" kill -s HUP "$cname" >/dev/null 2>&1
if wait_for 30 reloaded_since "$reloads"; then
	pass "podman kill -s HUP -> daemon re-read the YAML"
else
	fail "no reload after SIGHUP" "$logs/daemon.log"
fi

# ---- 7. health ---------------------------------------------------------------
# Wait for the new watch's baseline so that no watch is unchecked.
wait_for 30 page_count_at_least /other.html 2
if "${PODMAN[@]}" exec "$cname" kakaowatch status --health >"$logs/health.log" 2>&1; then
	pass "HEALTHCHECK command (kakaowatch status --health) exits 0 $(head -n 1 "$logs/health.log")"
else
	fail "kakaowatch status --health failed" "$logs/health.log"
fi
if "${PODMAN[@]}" healthcheck run "$cname" >"$logs/healthcheck.log" 2>&1; then
	pass "podman healthcheck run (the image's HEALTHCHECK) exits 0 $(tail -n 1 "$logs/healthcheck.log")"
else
	echo "note  podman healthcheck run did not work here (no systemd?): $(tail -n 1 "$logs/healthcheck.log")"
fi
"${PODMAN[@]}" exec "$cname" kakaowatch status >"$logs/status.log" 2>&1

# ---- 8. SIGTERM ----------------------------------------------------------------
t0=$(date +%s%N)
"${PODMAN[@]}" stop -t 10 "$cname" >/dev/null 2>"$logs/stop.err"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
ec=$("${PODMAN[@]}" inspect "$cname" --format '{{.State.ExitCode}}')
daemon_logs
if [ "$ec" = 0 ] && [ "$ms" -le 3000 ]; then
	pass "podman stop (SIGTERM): exit status 0 after ${ms} ms"
else
	fail "podman stop (SIGTERM): exit status $ec after ${ms} ms" "$logs/daemon.log"
fi

# ---- 9. the browser image: the same Dockerfile, --target browser --------------
# The switch a user makes: stop the small image's daemon (done above), start
# the browser image's on the same volume and config.
browser_tests() {
	local t0 v cfg hc n0 uids ec ms t1
	echo "== building the browser image $BIMAGE (docker/Dockerfile --target browser)"
	t0=$SECONDS
	# container-check's build, with --target (it made the base image above)
	if buildah bud --isolation chroot --pull=never --target browser \
		-f docker/Dockerfile -t "$BIMAGE" . >"$logs/build-browser.log" 2>&1; then
		pass "browser image builds (--target browser, $((SECONDS - t0)) s)"
	else
		fail "browser image build (--target browser)" "$logs/build-browser.log"
		return
	fi

	v=$("${PODMAN[@]}" run --rm "${RUNFLAGS[@]}" --no-healthcheck \
		--entrypoint chromium-headless-shell "$BIMAGE" --version 2>&1)
	if [[ $v == *Chromium* ]]; then
		pass "the browser image has Debian's headless Chromium: $v"
	else
		fail "chromium-headless-shell --version in the browser image: $v"
	fi
	cfg=$("${PODMAN[@]}" image inspect "$BIMAGE" --format \
		'{{.Config.User}} {{.Config.StopSignal}} {{json .Config.Volumes}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}')
	hc=$("${PODMAN[@]}" inspect "$BIMAGE" --format '{{json .HealthCheck}}')
	if [ "$cfg" = '10001:10001 SIGTERM {"/data":{}} ["/usr/local/bin/kakaowatch-entrypoint"] ["run","-c","/config/kakaowatch.yaml"]' ] &&
		[[ $hc == *'"kakaowatch","status","--health"'* ]]; then
		pass "browser image config as the small one's: USER 10001, SIGTERM, VOLUME /data, ENTRYPOINT, CMD, HEALTHCHECK"
		echo "      description: $("${PODMAN[@]}" image inspect "$BIMAGE" --format '{{index .Config.Labels "org.opencontainers.image.description"}}')"
	else
		fail "browser image config: got '$cfg' healthcheck '$hc'"
	fi

	script_page | write_file "$tmp/pages/list.html"
	printf '%s\n' '[{"id": 1, "title": "아이유 콘서트"}, {"id": 2, "title": "뮤지컬 영웅"}]' |
		write_file "$tmp/pages/items.json"
	write_config "$(tickets_watch)"
	if run_in_image -- check >"$logs/check-small-render.log" 2>&1; then
		fail "the small image's check accepted a render: browser watch" "$logs/check-small-render.log"
	elif grep -q "chromium-headless-shell.*not found" "$logs/check-small-render.log"; then
		pass "the small image's check refuses a render: browser watch: $(grep -m 1 'not found' "$logs/check-small-render.log")"
	else
		fail "the small image's check: no 'not found' for the browser" "$logs/check-small-render.log"
	fi
	if IMG=$BIMAGE run_in_image -- check >"$logs/check-browser.log" 2>&1 &&
		grep -q 'configuration OK' "$logs/check-browser.log"; then
		pass "the browser image's check accepts the render: browser watch"
	else
		fail "kakaowatch check in the browser image" "$logs/check-browser.log"
	fi

	n0=$(message_count)
	"${PODMAN[@]}" run -d --name "$bname" "${RUNFLAGS[@]}" \
		--health-interval disable \
		-v "$tmp/config:/config:ro" -v "$vol:/data" \
		-e KAKAO_REST_API_KEY="$CLIENT_ID" -e KAKAO_CLIENT_SECRET="$CLIENT_SECRET" \
		"$BIMAGE" >"$logs/browser-daemon.id" 2>"$logs/browser-daemon.start.err"
	if ! wait_for 10 "${PODMAN[@]}" exec "$bname" true; then
		bdaemon_logs
		fail "browser image's daemon starts" "$logs/browser-daemon.log"
		return
	fi
	# /items.json is fetched by the page's script, in the browser only:
	# a second fetch means the first check (the baseline) is complete.
	if wait_for 120 page_count_at_least /items.json 2; then
		pass "the browser image's daemon ran the page's script ($(page_count /items.json) requests for /items.json)"
	else
		bdaemon_logs
		fail "the page's script never fetched /items.json twice" "$logs/browser-daemon.log"
		return
	fi
	bdaemon_logs
	if [ "$(message_count)" = "$n0" ] &&
		grep -q 'tickets: baseline stored (2 items)' "$logs/browser-daemon.log"; then
		pass "baseline of the script-built list: 2 items, nothing sent (and the board's baseline, kept in the volume, sent nothing again)"
	else
		fail "baseline in the browser image: messages $n0 -> $(message_count)" "$logs/browser-daemon.log"
	fi

	printf '%s\n' '[{"id": 3, "title": "새 공연 오페라의 유령"}, {"id": 1, "title": "아이유 콘서트"}, {"id": 2, "title": "뮤지컬 영웅"}]' |
		write_file "$tmp/pages/items.json"
	if wait_for 90 has_message "새 공연 오페라의 유령"; then
		if python3 - "$tmp/messages.json" "$n0" <<'EOF'; then
import json, sys
msgs = json.load(open(sys.argv[1]))["messages"][int(sys.argv[2]):]
text = json.dumps(msgs, ensure_ascii=False)
sys.exit(len(msgs) != 1 or "아이유 콘서트" in text or "뮤지컬 영웅" in text)
EOF
			pass "a new entry of the script-built list -> one message with it alone"
		else
			fail "more than the new entry was sent: $(cat "$tmp/messages.json")"
		fi
	else
		bdaemon_logs
		fail "no message with the new entry from the browser image" "$logs/browser-daemon.log"
	fi

	uids=$("${PODMAN[@]}" exec "$bname" cat /proc/1/status /proc/1/comm |
		awk '/^Uid:/ {u = $2 " " $3} END {print u, $0}')
	if [ "$uids" = "$CUID $CUID kakaowatch" ]; then
		pass "browser image: PID 1 is kakaowatch as uid $CUID"
	else
		fail "browser image: PID 1 uid/euid/command: $uids"
	fi

	t0=$(date +%s%N)
	"${PODMAN[@]}" stop -t 10 "$bname" >/dev/null 2>>"$logs/stop.err"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	ec=$("${PODMAN[@]}" inspect "$bname" --format '{{.State.ExitCode}}')
	bdaemon_logs
	if [ "$ec" = 0 ] && [ "$ms" -le 10000 ]; then
		pass "browser image: podman stop (SIGTERM): exit status 0 after ${ms} ms"
	else
		fail "browser image: podman stop: exit status $ec after ${ms} ms" "$logs/browser-daemon.log"
	fi
}
browser_tests

# ---- 10. secrets ---------------------------------------------------------------
secrets=("$CLIENT_SECRET" "$code" "$code2")
if [ -f "$tok" ]; then
	while IFS= read -r s; do
		secrets+=("$s")
	done < <(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in ("access_token", "refresh_token"):
    if d.get(k): print(d[k])' "$tok")
fi
leaked=0
for s in "${secrets[@]}"; do
	if [ -n "$s" ] && grep -rqF -- "$s" "$logs"; then
		leaked=1
		echo "      secret found in: $(grep -rlF -- "$s" "$logs" | tr '\n' ' ')"
	fi
done
if [ "$leaked" = 0 ] && [ "${#secrets[@]}" -ge 5 ]; then
	pass "no client secret, code or token in any output (${#secrets[@]} secrets checked)"
else
	fail "secrets: leaked=$leaked, checked ${#secrets[@]}"
fi

# ---- 11. the compose file ------------------------------------------------------
# Docker Compose v2 validates it where installed; everywhere, python3-yaml
# (merge keys expanded as Compose does) checks what the two images rely on:
# the default service builds the small target, the profile "browser" one the
# browser target, both on the same config and volume, and the targets exist.
if docker compose version >/dev/null 2>&1; then
	if docker compose -f docker/compose.yaml config -q >"$logs/compose.log" 2>&1 &&
		docker compose -f docker/compose.yaml --profile browser config -q >>"$logs/compose.log" 2>&1; then
		pass "docker compose config accepts docker/compose.yaml (with and without --profile browser)"
	else
		fail "docker compose config" "$logs/compose.log"
	fi
else
	echo "note  docker compose not installed: docker/compose.yaml not run through it here"
fi
if python3 - docker/compose.yaml docker/Dockerfile >"$logs/compose-yaml.log" 2>&1 <<'EOF'; then
import re, sys
import yaml
c = yaml.safe_load(open(sys.argv[1]))
targets = re.findall(r"^FROM \S+ AS (\S+)", open(sys.argv[2]).read(), re.M)
s, b = c["services"]["kakaowatch"], c["services"]["kakaowatch-browser"]
assert "profiles" not in s, "the default service must need no profile"
assert b["profiles"] == ["browser"], b.get("profiles")
assert s["build"]["target"] == "small" and b["build"]["target"] == "browser"
for t in ("small", "browser"):
    assert t in targets, "no stage %r in the Dockerfile: %s" % (t, targets)
for k in ("volumes", "environment", "restart", "stop_signal", "logging"):
    assert s[k] == b[k], k
assert "kakaowatch-data:/data" in s["volumes"]
assert s["image"] != b["image"]
print("ok", targets)
EOF
	pass "docker/compose.yaml: service kakaowatch builds target small, kakaowatch-browser (profile browser) target browser, same config and volume"
else
	fail "docker/compose.yaml structure" "$logs/compose-yaml.log"
fi

echo "== daemon log (last lines)"
tail -n 15 "$logs/daemon.log" | sed 's/^/      | /'
for img in "$IMAGE" "$BIMAGE"; do
	"${PODMAN[@]}" image exists "$img" || continue
	echo "== image $img: $("${PODMAN[@]}" image ls --format '{{.Size}}' "$img" | head -n 1)"
	"${PODMAN[@]}" history "$img" --format '{{.Size}}	{{.CreatedBy}}' |
		awk -F'\t' '$1 != "0 B"' | cut -c1-100 | sed 's/^/      /'
done

if [ "$nfail" -eq 0 ]; then
	echo "SUMMARY: PASS ($npass checks)"
	exit 0
fi
echo "SUMMARY: FAIL ($npass passed, $nfail failed)"
for f in "${failed[@]}"; do
	echo "  - $f"
done
exit 1
