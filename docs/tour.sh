#!/usr/bin/env bash
# The README's five-minute tour, run non-interactively: every command of the tour, in order,
# each followed by a check. Exits non-zero at the first step that does not do what the README
# says. Needs curl and python3, and a running server:
#
#     cargo run --release &            # or: target/debug/signpost --bind 127.0.0.1:18123 --database /tmp/tour.db
#     BASE=http://127.0.0.1:8080 docs/tour.sh
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}

fail() { echo "tour: FAILED at step '$STEP': $*" >&2; exit 1; }
check() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'"; }
STEP="helper"

# --- tour ---
# 0. A helper that prints one member of a JSON body: jget key [key|index ...]
jget() { python3 -c 'import json,sys
v = json.load(sys.stdin)
for k in sys.argv[1:]: v = v[int(k)] if isinstance(v, list) else v[k]
print("" if v is None else v)' "$@"; }

STEP="1. start at the root"
curl -s $BASE/
ACCOUNTS=$(curl -s $BASE/ | jget subresource_uris accounts)
check "${ACCOUNTS:0:1}" "/"

STEP="2. create an account"
ACCOUNT=$(curl -s -X POST $BASE$ACCOUNTS --data-urlencode "FriendlyName=My first account")
SID=$(echo "$ACCOUNT" | jget sid)
TOKEN=$(echo "$ACCOUNT" | jget auth_token)
MESSAGES=$(echo "$ACCOUNT" | jget subresource_uris messages)
check "${SID:0:2}" "AC"

STEP="3. the root, signed in"
curl -s -u $SID:$TOKEN $BASE/ | jget subresource_uris account
check "$(curl -s -u $SID:$TOKEN $BASE/ | jget subresource_uris account)" "$(echo "$ACCOUNT" | jget uri)"

STEP="4. send a message"
MSG=$(curl -s -u $SID:$TOKEN $BASE$MESSAGES \
  --data-urlencode "To=+15005550006" --data-urlencode "From=+15017122661" \
  --data-urlencode "Body=Hello from signpost" --data-urlencode "MediaUrl=https://example.com/cat.jpg")
MSG_URI=$(echo "$MSG" | jget uri)
echo "$MSG" | jget status
check "$(echo "$MSG" | jget status)" "queued"

STEP="5. watch it being delivered"
sleep 2
curl -s -u $SID:$TOKEN $BASE$MSG_URI | jget status
check "$(curl -s -u $SID:$TOKEN $BASE$MSG_URI | jget status)" "delivered"

STEP="6. follow the media relation"
MEDIA=$(echo "$MSG" | jget subresource_uris media)
curl -s -u $SID:$TOKEN $BASE$MEDIA | jget media_list 0 content_type
check "$(curl -s -u $SID:$TOKEN $BASE$MEDIA | jget media_list 0 content_type)" "image/jpeg"

STEP="7. leave feedback"
FEEDBACK=$(echo "$MSG" | jget subresource_uris feedback)
curl -s -u $SID:$TOKEN $BASE$FEEDBACK -d Outcome=confirmed | jget outcome
check "$(curl -s -u $SID:$TOKEN $BASE$FEEDBACK | jget outcome)" "confirmed"

STEP="8. ask what you may do next (HAL-FORMS)"
curl -s -u $SID:$TOKEN -H 'Accept: application/prs.hal-forms+json' $BASE$MSG_URI \
  | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["_templates"]))'
check "$(curl -s -u $SID:$TOKEN -H 'Accept: application/prs.hal-forms+json' $BASE$MSG_URI | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["_templates"]))')" "['delete', 'feedback', 'redact']"

STEP="9. an error, and its page"
ERR=$(curl -s -u $SID:$TOKEN $BASE$MESSAGES \
  --data-urlencode "To=555" --data-urlencode "From=+15017122661" --data-urlencode "Body=hi")
echo "$ERR" | jget code
curl -s -H 'Accept: text/markdown' $BASE$(echo "$ERR" | jget more_info) | head -1
check "$(echo "$ERR" | jget code)" "21211"
check "$(curl -s -H 'Accept: text/markdown' $BASE$(echo "$ERR" | jget more_info) | head -1)" "# 21211: Invalid 'To' phone number"

STEP="10. a number that always fails"
FAILING=$(curl -s -u $SID:$TOKEN $BASE$MESSAGES \
  --data-urlencode "To=+15557770003" --data-urlencode "From=+15017122661" --data-urlencode "Body=will fail" | jget uri)
sleep 2
curl -s -u $SID:$TOKEN $BASE$FAILING | jget error_code
check "$(curl -s -u $SID:$TOKEN $BASE$FAILING | jget status)" "failed"
check "$(curl -s -u $SID:$TOKEN $BASE$FAILING | jget error_code)" "30006"

STEP="11. page through the messages"
NEXT=$(curl -s -u $SID:$TOKEN "$BASE$MESSAGES?PageSize=1" | jget next_page_uri)
curl -s -u $SID:$TOKEN "$BASE$NEXT" | jget page
check "$(curl -s -u $SID:$TOKEN "$BASE$NEXT" | jget page)" "1"

STEP="12. conditional GET: ETag and 304"
ETAG=$(curl -sI -u $SID:$TOKEN $BASE$MSG_URI | grep -i '^etag:' | cut -d' ' -f2 | tr -d '\r')
curl -s -o /dev/null -w '%{http_code}\n' -u $SID:$TOKEN -H "If-None-Match: $ETAG" $BASE$MSG_URI
check "$(curl -s -o /dev/null -w '%{http_code}' -u $SID:$TOKEN -H "If-None-Match: $ETAG" $BASE$MSG_URI)" "304"

STEP="13. redact the body"
curl -s -u $SID:$TOKEN $BASE$MSG_URI --data-urlencode "Body=" | python3 -c 'import json,sys; print(repr(json.load(sys.stdin)["body"]))'
check "$(curl -s -u $SID:$TOKEN $BASE$MSG_URI | jget body)" ""

STEP="14. a session: a bearer token instead of the auth token"
SESSIONS=$(curl -s $BASE/ | jget subresource_uris sessions)
SESSION=$(curl -s -u $SID:$TOKEN -X POST $BASE$SESSIONS)
BEARER=$(echo "$SESSION" | jget token)
MINE=$(curl -s $BASE/ | jget subresource_uris messages)
curl -s -L -H "Authorization: Bearer $BEARER" $BASE$MINE | jget meta key
check "$(curl -s -L -H "Authorization: Bearer $BEARER" $BASE$MINE | jget meta key)" "messages"
curl -s -o /dev/null -w '%{http_code}\n' -X DELETE -H "Authorization: Bearer $BEARER" $BASE$(echo "$SESSION" | jget uri)
check "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BEARER" $BASE/)" "401"

STEP="15. delete the message"
curl -s -o /dev/null -w '%{http_code}\n' -u $SID:$TOKEN -X DELETE $BASE$MSG_URI
check "$(curl -s -o /dev/null -w '%{http_code}' -u $SID:$TOKEN $BASE$MSG_URI)" "404"
# --- end of tour ---

echo "tour: all 15 steps passed against $BASE"
