#!/usr/bin/env bash
# The repair-ticket story of the demo community over HTTP, against a server started by `make run`:
#
#   王秀兰 files a roof leak with a photo → the manager accepts and assigns 李强 → 李强 starts, pauses
#   (waiting for parts) and resumes → uploads an after-photo and resolves → 王秀兰 rates 5 and closes;
#   then the demo's overdue ticket, escalated by the scheduler's SLA sweep.
#
# At each step it prints the ticket's status and due times and the newest inbox notification about
# the ticket of the person who should hear of it, and stops (exit 1) on any unexpected answer.
#
#   bash docs/walkthrough.sh
#   LINLI_BASE=http://127.0.0.1:8765 LINLI_SMS_OUTBOX=/tmp/linli-walk/sms-outbox.jsonl bash docs/walkthrough.sh
#
# Needs curl and python3 (standard library only). Residents log in by SMS code, read from the dev
# SMS outbox (one code per phone per 60 s: a second run within a minute waits for the throttle).
set -euo pipefail

BASE=${LINLI_BASE:-http://127.0.0.1:8000}
OUTBOX=${LINLI_SMS_OUTBOX:-var/sms-outbox.jsonl}
PASSWORD=${LINLI_DEMO_PASSWORD:-linli-demo-2026}
RESIDENT=+8613700000001   # 王秀兰, owner of 1号楼1单元301
MANAGER=+8613800000001    # 王建国, property manager
TECHNICIAN=+8613800000002 # 李强, technician (plumbing/electric)
SWEEP_WAIT=${LINLI_SWEEP_WAIT:-70}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A 64×48 JPEG for "before" (a stain on a grey ceiling) and a plain one for "after".
base64 -d >"$WORK/before.jpg" <<'JPEG'
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAwAEADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDVooorMsKKZNKkMZeQ4A/WsuXUpmP7sKg/M0mxpGvRWPHqM6n5yrj3GP5VpW1wlxHuXgj7y+lFwsTUUUUxBRRRQBjam7NdlT0QAAfrVStLUrVixnQZGPmH9azahloKns3aO6jK92Cn6GoKvadatJIszDCKcj3NCBmtRRRVkBRRRQAVVlsLeQ52lD6rxVqigZUj0+3Q5IZ/TcatAAAAAADoBS0UAFFFFAj/2Q==
JPEG
base64 -d >"$WORK/after.jpg" <<'JPEG'
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAwAEADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD0GiiipAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigD//Z
JPEG

# --- helpers -------------------------------------------------------------------------------------

# api METHOD PATH EXPECTED TOKEN [curl args…]: the body on stdout; exit 1 unless the HTTP status is
# one of EXPECTED ("200" or "202|429").
api() {
  local method=$1 path=$2 expected=$3 token=$4 code
  shift 4
  local auth=()
  if [[ -n $token ]]; then auth=(-H "Authorization: Bearer $token"); fi
  code=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$BASE$path")
  if [[ "|$expected|" != *"|$code|"* ]]; then
    echo "UNEXPECTED: $method $path answered $code (expected $expected):" >&2
    cat "$WORK/body" >&2
    echo >&2
    exit 1
  fi
  echo "$code" >"$WORK/code"
  cat "$WORK/body"
}

json() { api "$1" "$2" "$3" "$4" -H 'Content-Type: application/json' -d "$5"; }

# py EXPR: evaluate a Python expression over the JSON document on stdin (bound to d).
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

step() { printf '\n== %s\n' "$*"; }

# show TICKET_JSON: status, version and due times (UTC and Beijing time).
show() {
  python3 - "$1" <<'PY'
import json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
t = json.loads(sys.argv[1])
def at(name):
    v = t.get(name)
    if not v:
        return f"{name}=-"
    local = datetime.fromisoformat(v).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M:%S")
    return f"{name}={v} (北京 {local})"
print(f"   ticket #{t['id']} status={t['status']} version={t['version']} overdue={t['overdue']}")
print(f"   {at('response_due_at')}")
print(f"   {at('resolution_due_at')}")
PY
}

# heard WHO TOKEN TICKET_ID TEMPLATE: the newest inbox item about the ticket must be TEMPLATE.
heard() {
  local who=$1 token=$2 tid=$3 template=$4 inbox
  inbox=$(api GET "/v1/notifications?limit=50" 200 "$token")
  python3 - "$inbox" "$who" "$tid" "$template" <<'PY'
import json, sys
inbox, who, tid, template = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
mine = [n for n in inbox["items"] if n["data"].get("ticket_id") == tid]
if not mine:
    sys.exit(f"UNEXPECTED: {who} has no notification about ticket #{tid} (expected {template})")
n = mine[0]
print(f"   inbox of {who}: [{n['data'].get('template')}] {n['title']} — {n['body']}")
if n["data"].get("template") != template:
    sys.exit(f"UNEXPECTED: the newest one should be {template}")
PY
}

# act TOKEN TICKET_JSON ACTION [EXTRA_JSON_FIELDS]: a transition with the ticket's current version.
act() {
  local token=$1 ticket=$2 action=$3 extra=${4:-} tid version
  tid=$(py 'd["id"]' <<<"$ticket")
  version=$(py 'd["version"]' <<<"$ticket")
  json POST "/v1/tickets/$tid/transitions" 200 "$token" \
    "{\"action\": \"$action\", \"version\": $version${extra:+, $extra}}"
}

password_login() {
  json POST /v1/auth/login 200 "" "{\"phone\": \"$1\", \"password\": \"$PASSWORD\"}"
}

lines() { if [[ -f $1 ]]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

sms_login() {
  local phone=$1 seen body code retry
  seen=$(lines "$OUTBOX")
  body=$(json POST /v1/auth/otp "202|429" "" "{\"phone\": \"$phone\"}")
  if [[ $(cat "$WORK/code") == 429 ]]; then
    retry=$(py 'd["error"]["details"].get("retry_after", 60)' <<<"$body")
    echo "   (a code was sent less than a minute ago: waiting ${retry}s for the throttle)" >&2
    sleep "$retry"
    seen=$(lines "$OUTBOX")
    json POST /v1/auth/otp 202 "" "{\"phone\": \"$phone\"}" >/dev/null
  fi
  code=""
  for _ in $(seq 50); do
    code=$(python3 - "$OUTBOX" "$seen" "$phone" <<'PY'
import json, sys
path, seen, phone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    lines = open(path, encoding="utf-8").read().splitlines()[seen:]
except FileNotFoundError:
    lines = []
codes = [json.loads(line)["code"] for line in lines if line.strip() and json.loads(line)["phone"] == phone]
print(codes[-1] if codes else "")
PY
)
    [[ -n $code ]] && break
    sleep 0.1
  done
  if [[ -z $code ]]; then
    echo "UNEXPECTED: no SMS code for $phone in $OUTBOX (is LINLI_SMS_OUTBOX right?)" >&2
    exit 1
  fi
  echo "   SMS code for $phone read from $OUTBOX: $code" >&2
  json POST /v1/auth/login 200 "" "{\"phone\": \"$phone\", \"code\": \"$code\"}"
}

# --- the story -----------------------------------------------------------------------------------

for _ in $(seq 60); do
  curl -sf "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
api GET /readyz 200 "" >/dev/null

step "0. Log in: 王秀兰 by SMS code, the manager 王建国 and the technician 李强 by password"
R_TOKEN=$(sms_login "$RESIDENT" | py 'd["access_token"]')
M_TOKEN=$(password_login "$MANAGER" | py 'd["access_token"]')
TECH=$(password_login "$TECHNICIAN")
T_TOKEN=$(py 'd["access_token"]' <<<"$TECH")
T_ID=$(py 'd["user"]["id"]' <<<"$TECH")
ME=$(api GET /v1/me 200 "$R_TOKEN")
CID=$(py 'd["households"][0]["community_id"]' <<<"$ME")
HID=$(py 'd["households"][0]["id"]' <<<"$ME")
py '"   {} lives in {}{}{} (household {}, community {} {})".format(d["name"], d["households"][0]["building_name"], d["households"][0]["entrance"], d["households"][0]["room"], d["households"][0]["id"], d["households"][0]["community_id"], d["households"][0]["community_name"])' <<<"$ME"

step "1. 王秀兰 files a repair (roof leak, normal priority: respond within 8 h, resolve within 48 h) with a photo"
T=$(json POST "/v1/communities/$CID/tickets" 201 "$R_TOKEN" "{
  \"kind\": \"repair\", \"category\": \"roof_leak\", \"priority\": \"normal\",
  \"title\": \"卧室天花板雨天渗水\",
  \"description\": \"连续下雨两天，卧室靠窗一侧天花板渗水，墙皮起泡脱落。\",
  \"household_id\": $HID}")
TID=$(py 'd["id"]' <<<"$T")
show "$T"
api POST "/v1/tickets/$TID/attachments" 201 "$R_TOKEN" -F "file=@$WORK/before.jpg;type=image/jpeg" \
  -F purpose=before | py '"   before-photo uploaded: attachment {} ({})".format(d["id"], d["purpose"])'
heard "王建国 (manager)" "$M_TOKEN" "$TID" ticket.created

step "2. The manager accepts: the response clock stops"
T=$(act "$M_TOKEN" "$T" accept)
show "$T"
py '"   accepted_at={}".format(d["accepted_at"])' <<<"$T"
heard "王秀兰 (resident)" "$R_TOKEN" "$TID" ticket.accepted

step "3. The manager assigns 李强"
T=$(act "$M_TOKEN" "$T" assign "\"assignee_id\": $T_ID")
show "$T"
heard "李强 (technician)" "$T_TOKEN" "$TID" ticket.assigned_to_you
heard "王秀兰 (resident)" "$R_TOKEN" "$TID" ticket.assigned

step "4. 李强 starts work"
T=$(act "$T_TOKEN" "$T" start)
show "$T"
heard "王秀兰 (resident)" "$R_TOKEN" "$TID" ticket.started

step "5. 李强 pauses: waiting for parts (the resolution clock stops)"
T=$(act "$T_TOKEN" "$T" pause '"reason_code": "waiting_for_parts", "note": "需要采购防水卷材"')
show "$T"
DUE_BEFORE=$(py 'd["resolution_due_at"]' <<<"$T")
py '"   paused_at={} pause_reason={} resolution_elapsed_minutes={}".format(d["paused_at"], d["pause_reason"], d["resolution_elapsed_minutes"])' <<<"$T"
heard "王秀兰 (resident)" "$R_TOKEN" "$TID" ticket.paused
echo "   (5 seconds pass while paused)"
sleep 5

step "6. 李强 resumes: the resolution deadline moves by the paused time"
T=$(act "$T_TOKEN" "$T" resume)
show "$T"
python3 - "$T" "$DUE_BEFORE" <<'PY'
import json, sys
from datetime import datetime
t, before = json.loads(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
moved = (datetime.fromisoformat(t["resolution_due_at"]) - before).total_seconds()
print(f"   paused_seconds={t['paused_seconds']} paused_working_minutes={t['paused_working_minutes']}"
      f" → resolution_due_at moved by {moved:+.1f} s")
if t["paused_seconds"] < 5 or abs(moved - t["paused_working_minutes"] * 60) > 2:
    sys.exit("UNEXPECTED: the deadline did not move by the paused time")
PY
heard "王秀兰 (resident)" "$R_TOKEN" "$TID" ticket.resumed

step "7. 李强 uploads an after-photo and resolves with a note"
api POST "/v1/tickets/$TID/attachments" 201 "$T_TOKEN" -F "file=@$WORK/after.jpg;type=image/jpeg" \
  -F purpose=after | py '"   after-photo uploaded: attachment {} ({})".format(d["id"], d["purpose"])'
T=$(act "$T_TOKEN" "$T" resolve '"note": "屋面防水层局部破损，已铺设防水卷材并修补天花板"')
show "$T"
py '"   resolved_at={} note={} photos={}".format(d["resolved_at"], d["resolution_note"], [p["purpose"] for p in d["attachments"]])' <<<"$T"
heard "王秀兰 (resident)" "$R_TOKEN" "$TID" ticket.resolved

step "8. 王秀兰 rates 5 stars and closes"
json POST "/v1/tickets/$TID/rating" 200 "$R_TOKEN" \
  '{"overall": 5, "speed": 5, "attitude": 5, "comment": "师傅很专业，修得很仔细"}' \
  | py '"   rating overall={} speed={} attitude={} editable_until={}".format(d["overall"], d["speed"], d["attitude"], d["editable_until"])'
T=$(api GET "/v1/tickets/$TID" 200 "$R_TOKEN")
T=$(act "$R_TOKEN" "$T" close)
show "$T"
py '"   closed_at={} rating_overall={}".format(d["closed_at"], d["rating_overall"])' <<<"$T"
heard "李强 (technician)" "$T_TOKEN" "$TID" ticket.closed

step "9. The ticket's history: GET /v1/tickets/$TID/events"
EVENTS=$(api GET "/v1/tickets/$TID/events" 200 "$R_TOKEN")
python3 - "$EVENTS" <<'PY'
import json, sys
events = json.loads(sys.argv[1])
for e in events:
    print(f"   {e['created_at'][:19]}  {e['action']:<7} {str(e['from_status']):<11} → {e['to_status']:<11}"
          f" actor={e['actor_id']} reason={e['reason']}")
actions = [e["action"] for e in events]
if actions != ["create", "accept", "assign", "start", "pause", "resume", "resolve", "rate", "close"]:
    sys.exit(f"UNEXPECTED events: {actions}")
PY

step "10. The SLA sweep: the demo's overdue ticket (GET /v1/tickets?overdue=true as the manager)"
OVERDUE=$(api GET "/v1/tickets?overdue=true" 200 "$M_TOKEN")
python3 - "$OVERDUE" <<'PY'
import json, sys
items = json.loads(sys.argv[1])["items"]
if not items:
    sys.exit("UNEXPECTED: no overdue ticket; is services.demo_tickets in services.demo_areas.area_seeds()?")
for i in items:
    print(f"   #{i['id']} {i['title']} status={i['status']} assignee={i['assignee_id']}"
          f" resolution_due_at={i['resolution_due_at']} overdue={i['overdue']}")
PY
OID=$(py 'd["items"][-1]["id"]' <<<"$OVERDUE")
echo "   waiting (≤ ${SWEEP_WAIT}s) for the scheduler's SLA sweep (every 60 s) to notify the manager about #$OID …"
FOUND=""
for _ in $(seq "$SWEEP_WAIT"); do
  INBOX=$(api GET "/v1/notifications?limit=100" 200 "$M_TOKEN")
  FOUND=$(python3 - "$INBOX" "$OID" <<'PY'
import json, sys
items, oid = json.loads(sys.argv[1])["items"], int(sys.argv[2])
sla = [n for n in items if n["data"].get("ticket_id") == oid and n["data"].get("template", "").startswith("ticket.sla_")]
if any(n["data"]["template"] == "ticket.sla_breached" for n in sla):
    for n in reversed(sla):
        print(f"   inbox of 王建国 (manager): [{n['data']['template']}] {n['title']} — {n['body']}")
PY
)
  [[ -n $FOUND ]] && break
  sleep 1
done
if [[ -z $FOUND ]]; then
  echo "UNEXPECTED: no ticket.sla_breached notification for #$OID after ${SWEEP_WAIT}s" >&2
  exit 1
fi
echo "$FOUND"
EVENTS=$(api GET "/v1/tickets/$OID/events" 200 "$M_TOKEN")
python3 - "$EVENTS" <<'PY'
import json, sys
for e in json.loads(sys.argv[1]):
    if e["action"].startswith("sla_"):
        print(f"   event {e['action']:<13} {e['created_at'][:19]} due_at={e['data'].get('due_at')}"
              f" stage={e['data'].get('stage')}")
PY

printf '\nOK: the whole story ran (ticket #%s), and overdue ticket #%s was escalated.\n' "$TID" "$OID"
