package sentrytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Comments (notes) and activity of an issue (BEHAVIOUR.md 4.14):
// GroupNotesEndpoint on .../comments/ and .../notes/, GroupActivitiesEndpoint
// on .../activities/, on the organization and the top-level issue paths.
func init() {
	notes := map[string]func(*call){http.MethodGet: listIssueNotes, http.MethodPost: createIssueNote}
	acts := map[string]func(*call){http.MethodGet: listIssueActivities}
	for _, prefix := range []string{"organizations/{org}/issues", "issues", "groups"} {
		for _, name := range []string{"comments", "notes"} {
			addRoute("GroupNotesEndpoint", prefix+"/{issue}/"+name, permEvent, notes, nil)
		}
		addRoute("GroupActivitiesEndpoint", prefix+"/{issue}/activities", permEvent, acts, nil)
	}
}

// maxActivities is how many entries GroupActivitiesEndpoint returns.
const maxActivities = 100

// GET .../issues/{id}/activities/: {"activity": [...]}, the newest 100,
// not paginated.
func listIssueActivities(c *call) {
	_, is := c.issueFromPath()
	if is == nil {
		return
	}
	out := []any{}
	for i, a := range is.Activity {
		if i == maxActivities {
			break
		}
		out = append(out, copyMap(a))
	}
	c.json(200, map[string]any{"activity": out})
}

// GET .../issues/{id}/comments/: the notes, newest first, paginated.
func listIssueNotes(c *call) {
	_, is := c.issueFromPath()
	if is == nil {
		return
	}
	var notes []map[string]any
	for _, a := range is.Activity {
		if a["type"] == "note" {
			notes = append(notes, a)
		}
	}
	serveSeqPage(c, notes, func(a map[string]any) any { return copyMap(a) })
}

// Messages of GroupNotesEndpoint.post and the DRF fields of NoteSerializer.
var (
	msgNoteNoUser     = "Key doesn't have permission to create Note"
	msgNoteDuplicate  = exampleDetail("error.400.comment_duplicate.json")
	msgFieldRequired  = exampleObject("error.400.comment_missing_text.json")["text"].([]any)[0].(string)
	msgFieldBlank     = "This field may not be blank."
	msgFieldNull      = "This field may not be null."
	msgFieldNotString = "Not a valid string."
	msgActorFormat    = "Could not parse actor. Format should be `type:id` where type is `team` or `user`."
)

// pyIsSpace is Python's str.isspace for one character (what str.strip
// removes): Go's unicode.IsSpace and the separators U+001C-U+001F.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

var actorRe = regexp.MustCompile(`^(user|team):\d+$`)

// drfChar is serializers.CharField.to_internal_value with its defaults
// (trim_whitespace, allow_blank false): the value, or the field error.
func drfChar(v any) (string, string) {
	switch x := v.(type) {
	case nil:
		return "", msgFieldNull
	case string:
		if s := strings.TrimFunc(x, pyIsSpace); s != "" {
			return s, ""
		}
		return "", msgFieldBlank
	case json.Number:
		return x.String(), ""
	}
	return "", msgFieldNotString
}

// POST .../issues/{id}/comments/ {"text", "mentions"?, "external_id"?}: a
// caller without a user gets 403; NoteSerializer's errors are DRF field
// errors; the same user posting the same data (mentions aside) within an
// hour gets 400; else the user is subscribed (reason comment) and the
// note is answered 201 as an activity.
func createIssueNote(c *call) {
	_, is := c.issueFromPath()
	if is == nil {
		return
	}
	if c.d.User == nil {
		c.detail(403, msgNoteNoUser)
		return
	}
	body, ok := c.requestData()
	if !ok {
		return
	}
	m, isMap := body.(map[string]any)
	if !isMap {
		c.json(400, map[string]any{"non_field_errors": []any{fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", pyTypeName(body))}})
		return
	}
	errs := fieldErrors{}
	data := map[string]any{}
	if raw, has := m["text"]; !has {
		errs.add("text", msgFieldRequired)
	} else if s, msg := drfChar(raw); msg != "" {
		errs.add("text", msg)
	} else {
		data["text"] = s
	}
	if raw, has := m["external_id"]; has {
		if raw == nil {
			data["external_id"] = nil
		} else if s, msg := drfChar(raw); msg != "" {
			errs.add("external_id", msg)
		} else {
			data["external_id"] = s
		}
	}
	if raw, has := m["mentions"]; has {
		list, isList := raw.([]any)
		if !isList {
			errs.add("mentions", fmt.Sprintf("Expected a list of items but got type %q.", pyTypeName(raw)))
		} else {
			bad := map[string]any{}
			for i, x := range list {
				if s, _ := x.(string); !actorRe.MatchString(s) {
					bad[strconv.Itoa(i)] = []any{msgActorFormat}
				}
			}
			if len(bad) > 0 {
				errs["mentions"] = bad
			}
		}
	}
	if len(errs) > 0 {
		c.json(400, errs)
		return
	}
	now := c.v.now
	for _, a := range is.Activity {
		u, _ := a["user"].(map[string]any)
		when, _ := parseISO(asString(a["dateCreated"]))
		if a["type"] == "note" && u != nil && u["id"] == c.d.userID() && when.After(now.Add(-time.Hour)) && reflect.DeepEqual(a["data"], data) {
			c.detail(400, msgNoteDuplicate)
			return
		}
	}
	if !is.IsSubscribed && is.subReason == "" {
		is.IsSubscribed, is.subReason = true, "comment"
	}
	note := activity(is, "note", c.d.User, data, now)
	is.Activity = append([]map[string]any{note}, is.Activity...)
	c.json(201, copyMap(note))
}

// numComments counts an issue's notes (the serializer's numComments).
func numComments(is *Issue) int {
	n := 0
	for _, a := range is.Activity {
		if a["type"] == "note" {
			n++
		}
	}
	return n
}

// demoDiscussion gives the top demo issues a few comments and activity
// entries, dated relative to base.
func demoDiscussion(d *Data, base time.Time) {
	acme := d.org("acme")
	if acme == nil {
		return
	}
	member := func(id string) map[string]any {
		for _, m := range d.members(acme) {
			if m["id"] == id {
				return m
			}
		}
		return nil
	}
	add := func(shortID string, ago time.Duration, typ, userID string, data map[string]any) {
		is := acme.issueByShortID(shortID)
		if is == nil {
			return
		}
		at := base.Add(-ago)
		if at.Before(is.FirstSeen) {
			at = is.FirstSeen.Add(time.Minute)
		}
		var u map[string]any
		if userID != "" {
			u = member(userID)
		}
		is.Activity = append(is.Activity, activity(is, typ, u, data, at))
		slices.SortStableFunc(is.Activity, func(a, b map[string]any) int {
			ta, _ := parseISO(asString(a["dateCreated"]))
			tb, _ := parseISO(asString(b["dateCreated"]))
			return tb.Compare(ta)
		})
		if typ == "note" && userID == fmt.Sprint(d.userID()) && !is.IsSubscribed {
			is.IsSubscribed, is.subReason = true, "comment"
		}
	}
	add("BACKEND-1", 26*time.Hour, "set_priority", "1", map[string]any{"priority": "high", "reason": nil})
	add("BACKEND-1", 3*time.Hour, "note", "2", map[string]any{"text": "Started with 2.14.0: prorate() divides by the billable days, which is 0 for accounts created today."})
	add("BACKEND-1", 50*time.Minute, "note", "1", map[string]any{"text": "Reproduced with a same-day signup. Fix in review:\n- guard days == 0 in billing.prorate\n- add a test for same-day invoices"})
	add("BACKEND-2", 5*time.Hour, "set_escalating", "", map[string]any{})
	add("BACKEND-2", 4*time.Hour, "note", "3", map[string]any{"text": "db-replica-2 keeps failing over; the ops ticket is OPS-3121."})
	add("FRONTEND-1", 6*time.Hour, "note", "2", map[string]any{"text": "Only on /checkout when the cart is restored from another device."})
}
