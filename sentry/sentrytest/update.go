package sentrytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"
	"time"
)

// requestData parses the body like DRF's parsers (JSON, form, multipart).
// It answers and returns ok=false on failure.
func (c *call) requestData() (any, bool) {
	ct := c.r.Header.Get("Content-Type")
	if len(c.body) == 0 {
		return map[string]any{}, true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.TrimSpace(strings.ToLower(strings.SplitN(ct, ";", 2)[0]))
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		dec := json.NewDecoder(bytes.NewReader(c.body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			c.detail(400, "JSON parse error - "+jsonErrorText(err))
			return nil, false
		}
		if dec.More() {
			c.detail(400, "JSON parse error - Extra data")
			return nil, false
		}
		return v, true
	case mt == "application/x-www-form-urlencoded":
		m := map[string]any{}
		for _, p := range parseQuery(string(c.body)) {
			m[p.k] = p.v
		}
		return m, true
	case mt == "multipart/form-data":
		m := map[string]any{}
		mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				if err != io.EOF {
					c.detail(400, "Multipart form parse error - Invalid boundary in multipart: None")
					return nil, false
				}
				break
			}
			b, _ := io.ReadAll(io.LimitReader(part, maxBody))
			if part.FileName() == "" {
				m[part.FormName()] = string(b)
			}
		}
		return m, true
	}
	c.detail(415, fmt.Sprintf("Unsupported media type %q in request.", ct))
	return nil, false
}

func jsonErrorText(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("Expecting value: char %d", se.Offset)
	}
	return err.Error()
}

// pyStr renders a JSON value like Python's str(), for DRF messages.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				parts[i] = "'" + s + "'"
			} else {
				parts[i] = pyStr(e)
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "{...}"
	}
	return fmt.Sprint(v)
}

func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "float"
		}
		return "int"
	case []any:
		return "list"
	}
	return "dict"
}

// fieldErrors collects DRF-style validation errors.
type fieldErrors map[string]any

func (e fieldErrors) add(field, msg string) { e[field] = []any{msg} }

// drfBool is serializers.BooleanField.to_internal_value.
func drfBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case json.Number:
		switch x.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case string:
		switch x {
		case "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1":
			return true, true
		case "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0":
			return false, true
		}
	}
	return false, false
}

// drfInt is serializers.IntegerField.to_internal_value.
func drfInt(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.Atoi(x.String()); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil && f == float64(int(f)) {
			return int(f), true
		}
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.Atoi(s); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int(f)) && len(s) <= 50 {
			return int(f), true
		}
	}
	return 0, false
}

var statusChoices = []string{"resolved", "unresolved", "ignored", "resolvedInNextRelease", "muted"}
var substatusChoices = []string{"archived_until_escalating", "archived_until_condition_met", "archived_forever", "escalating", "ongoing", "regressed", "new"}
var priorityChoices = []string{"low", "medium", "high"}
var ignoreFields = []string{"ignoreDuration", "ignoreCount", "ignoreWindow", "ignoreUserCount", "ignoreUserWindow"}

// update is the validated request.
type update struct {
	has           map[string]bool
	status        string
	substatus     string // "" = null
	details       map[string]any
	inNextRelease *Release
	inRelease     *Release
	ignore        map[string]int
	bools         map[string]bool
	assign        map[string]any // nil = unassign
	priority      string
	// echo holds the validated keys with their validated values: the bulk
	// PUT answers with them (update.py prepare_response: result =
	// dict(serializer.validated_data), statusDetails popped).
	echo map[string]any
}

// PUT .../issues/{id}/
func putIssue(c *call) {
	o, is := c.issueFromPath()
	if is == nil {
		return
	}
	raw, ok := c.requestData()
	if !ok {
		return
	}
	data, isObj := raw.(map[string]any)
	if !isObj {
		// group_details.put calls request.data.get(): not a dict -> 500.
		c.internalError()
		return
	}
	u, errs := c.validateUpdate(o, o.project(is.Project), data)
	if len(errs) > 0 {
		c.json(400, errs)
		return
	}
	if u.has["discard"] && u.bools["discard"] {
		c.json(400, map[string]any{"detail": []any{"You do not have that feature enabled"}})
		return
	}
	if _, status, body := c.applyUpdates(o, []*Issue{is}, u); status != 0 {
		c.json(status, body)
		return
	}
	c.json(200, c.v.issueBase(o, is))
}

// validateUpdate is GroupValidator(partial=True) with the context of one
// project (update.py validate_request runs it once per project in scope).
func (c *call) validateUpdate(o *Org, p *Project, data map[string]any) (*update, fieldErrors) {
	u := &update{has: map[string]bool{}, ignore: map[string]int{}, bools: map[string]bool{}, echo: map[string]any{}}
	errs := fieldErrors{}
	notNull := func(k string) bool {
		if data[k] == nil {
			errs.add(k, "This field may not be null.")
			return false
		}
		return true
	}
	choice := func(k string, choices []string) (string, bool) {
		s := pyStr(data[k])
		if slices.Contains(choices, s) {
			return s, true
		}
		errs.add(k, fmt.Sprintf("%q is not a valid choice.", s))
		return "", false
	}
	for _, k := range []string{"inbox", "hasSeen", "isBookmarked", "isPublic", "isSubscribed", "merge", "discard"} {
		if _, ok := data[k]; ok && notNull(k) {
			if b, ok := drfBool(data[k]); ok {
				u.has[k], u.bools[k], u.echo[k] = true, b, b
			} else {
				errs.add(k, "Must be a valid boolean.")
			}
		}
	}
	if _, ok := data["status"]; ok && notNull("status") {
		if s, ok := choice("status", statusChoices); ok {
			u.has["status"], u.status, u.echo["status"] = true, s, s
		}
	}
	if v, ok := data["substatus"]; ok {
		if v == nil {
			u.has["substatus"], u.echo["substatus"] = true, nil
		} else if s, ok := choice("substatus", substatusChoices); ok {
			u.has["substatus"], u.substatus, u.echo["substatus"] = true, s, s
		}
	}
	if _, ok := data["priority"]; ok && notNull("priority") {
		if s, ok := choice("priority", priorityChoices); ok {
			u.has["priority"], u.priority, u.echo["priority"] = true, s, s
		}
	}
	intField := func(src map[string]any, k string, into map[string]int, e fieldErrors) {
		v, ok := src[k]
		if !ok {
			return
		}
		if v == nil {
			e.add(k, "This field may not be null.")
			return
		}
		n, ok := drfInt(v)
		if !ok {
			e.add(k, "A valid integer is required.")
			return
		}
		if (k == "ignoreWindow" || k == "ignoreUserWindow") && n > 7*24*60 {
			e.add(k, "Ensure this value is less than or equal to 10080.")
			return
		}
		into[k] = n
	}
	topIgnore := map[string]int{}
	for _, k := range ignoreFields {
		intField(data, k, topIgnore, errs)
		if n, ok := topIgnore[k]; ok {
			u.echo[k] = n
		}
	}
	if v, ok := data["snoozeDuration"]; ok && v != nil {
		if n, ok := drfInt(v); !ok {
			errs.add("snoozeDuration", "A valid integer is required.")
		} else {
			u.echo["snoozeDuration"] = n
		}
	}
	if v, ok := data["statusDetails"]; ok && notNull("statusDetails") {
		sd, isMap := v.(map[string]any)
		if !isMap {
			errs["statusDetails"] = map[string]any{"non_field_errors": []any{"Invalid data. Expected a dictionary, but got " + pyTypeName(v) + "."}}
		} else {
			u.has["statusDetails"] = true
			u.details = sd
			sub := fieldErrors{}
			rels := o.projectReleases(p.Slug)
			noRelease := "No release data present in the system to form a basis for 'Next Release'"
			if x, ok := sd["inNextRelease"]; ok {
				if x == nil {
					sub.add("inNextRelease", "This field may not be null.")
				} else if _, ok := drfBool(x); !ok {
					sub.add("inNextRelease", "Must be a valid boolean.")
				} else if len(rels) == 0 {
					sub.add("inNextRelease", noRelease)
				} else {
					u.inNextRelease = rels[0]
				}
			}
			if x, ok := sd["inUpcomingRelease"]; ok {
				if _, ok := drfBool(x); !ok {
					sub.add("inUpcomingRelease", "Must be a valid boolean.")
				} else if !slices.Contains(o.Features, "resolve-in-upcoming-release") {
					sub.add("inUpcomingRelease", "Your organization does not have access to this feature.")
				}
			}
			if x, ok := sd["inRelease"]; ok {
				switch s := x.(type) {
				case nil:
					sub.add("inRelease", "This field may not be null.")
				case bool, []any, map[string]any:
					sub.add("inRelease", "Not a valid string.")
				default:
					str := strings.TrimSpace(pyStr(s))
					switch {
					case str == "":
						sub.add("inRelease", "This field may not be blank.")
					case str == "latest":
						if len(rels) == 0 {
							sub.add("inRelease", noRelease)
						} else {
							u.inRelease = rels[0]
						}
					default:
						if r := o.release(str, p.Slug); r != nil {
							u.inRelease = r
						} else {
							sub.add("inRelease", "Unable to find a release with the given version.")
						}
					}
				}
			}
			if x, ok := sd["inCommit"]; ok && x != nil {
				if _, isMap := x.(map[string]any); !isMap {
					sub["inCommit"] = map[string]any{"non_field_errors": []any{"Invalid data. Expected a dictionary, but got " + pyTypeName(x) + "."}}
				} else {
					// The fake knows no repositories.
					sub["inCommit"] = map[string]any{"repository": []any{"Unable to find the given repository."}}
				}
			}
			for _, k := range ignoreFields {
				intField(sd, k, u.ignore, sub)
			}
			if len(sub) > 0 {
				errs["statusDetails"] = map[string]any(sub)
			}
		}
	}
	if !u.has["statusDetails"] {
		// update_groups: status_details = result.pop("statusDetails", result)
		u.ignore = topIgnore
	}
	if v, ok := data["assignedTo"]; ok {
		u.has["assignedTo"] = true
		a, msg := c.resolveActor(o, v)
		if msg == "" && a != nil {
			msg = c.d.checkAssignee(o, p, a)
		}
		if msg != "" {
			errs.add("assignedTo", msg)
		} else {
			u.assign = a
		}
	}
	if u.has["discard"] && u.bools["discard"] && !anyScope(effectiveScopes(c.tok.scopes, o.Role), []string{"event:admin"}) {
		errs.add("discard", "You do not have permission to discard events")
	}
	if len(errs) == 0 && u.has["discard"] {
		n := 0
		for k := range data {
			if slices.Contains([]string{"inbox", "status", "statusDetails", "substatus", "hasSeen", "isBookmarked", "isPublic", "isSubscribed", "merge", "discard", "assignedTo", "priority", "ignoreDuration", "ignoreCount", "ignoreWindow", "ignoreUserCount", "ignoreUserWindow", "snoozeDuration"}, k) {
				n++
			}
		}
		if n > 1 {
			errs.add("non_field_errors", "Other attributes cannot be updated when discarding")
		}
	}
	return u, errs
}

// resolveActor is ActorField + parse_and_validate_actor: nil for "" / null.
func (c *call) resolveActor(o *Org, v any) (map[string]any, string) {
	var s string
	switch x := v.(type) {
	case nil:
		return nil, ""
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		if !x {
			return nil, ""
		}
		s = "True"
	default:
		return nil, "Could not parse actor. Format should be `type:id` where type is `team` or `user`."
	}
	if s == "" {
		return nil, ""
	}
	parseErr := "Could not parse actor. Format should be `type:id` where type is `team` or `user`."
	kind, id := "user", ""
	switch {
	case isDecimal(s):
		id = s
	case strings.HasPrefix(s, "user:"):
		id = s[5:]
	case strings.HasPrefix(s, "team:"):
		kind, id = "team", s[5:]
	default:
		for _, m := range c.d.members(o) {
			un, _ := m["username"].(string)
			em, _ := m["email"].(string)
			if strings.EqualFold(un, s) || strings.EqualFold(em, s) {
				return userActor(m), ""
			}
		}
		return nil, parseErr
	}
	if !isDecimal(id) {
		return nil, parseErr
	}
	id = strings.TrimLeft(id, "0")
	if id == "" {
		id = "0"
	}
	if kind == "team" {
		for _, other := range c.d.Orgs {
			for _, t := range other.Teams {
				if t.ID == id {
					if other != o {
						return nil, "Team is not a member of this organization"
					}
					return teamActor(t), ""
				}
			}
		}
		return nil, "Team does not exist"
	}
	for _, m := range c.d.members(o) {
		if fmt.Sprint(m["id"]) == id {
			return userActor(m), ""
		}
	}
	for _, other := range c.d.Orgs {
		for _, m := range other.Members {
			if fmt.Sprint(m["id"]) == id {
				return nil, "User is not a member of this organization"
			}
		}
	}
	return nil, "User does not exist"
}

// applyUpdates is update_groups after validation, on the matched issues:
// priority, status, then prepare_response (assignee, seen, bookmark,
// subscription, share, inbox). It returns the bulk PUT's answer (the
// validated keys echoed plus the computed ones) or, for a refusal, its
// status and body.
func (c *call) applyUpdates(o *Org, list []*Issue, u *update) (map[string]any, int, any) {
	now := c.v.now
	user := c.d.User
	actor := copyMap(user) // statusDetails.actor is the full user serialization
	log := func(is *Issue, typ string, data map[string]any) {
		is.Activity = append([]map[string]any{activity(is, typ, user, data, now)}, is.Activity...)
	}
	result := map[string]any{}
	for k, v := range u.echo {
		result[k] = v
	}
	var projects []string
	for _, is := range list {
		if !slices.Contains(projects, is.Project) {
			projects = append(projects, is.Project)
		}
	}
	if u.has["priority"] {
		// handle_priority runs first: a refusal below leaves it applied.
		for _, is := range list {
			is.Priority = u.priority
			is.priorityLockedAt = now
			log(is, "set_priority", map[string]any{"priority": u.priority, "reason": nil})
		}
	}
	switch {
	case u.status == "resolved" || u.status == "resolvedInNextRelease":
		// handle_resolve_in_release: release and commit resolutions are
		// per project.
		kind := ""
		switch {
		case u.status == "resolvedInNextRelease" || u.inNextRelease != nil:
			kind = "next release"
		case u.inRelease != nil:
			kind = "release"
		}
		if kind != "" && len(projects) > 1 {
			return nil, 400, map[string]any{"detail": "Cannot set resolved in " + kind + " for multiple projects."}
		}
		resultDetails := map[string]any{}
		for _, is := range list {
			details := map[string]any{}
			typ, data := "set_resolved", map[string]any{}
			switch kind {
			case "next release":
				// A resolution (and so the stored statusDetails) needs a
				// release to resolve by; the answer says inNextRelease anyway.
				if u.inNextRelease != nil || len(o.projectReleases(is.Project)) > 0 {
					details = map[string]any{"inNextRelease": true, "actor": actor}
				}
				resultDetails = map[string]any{"inNextRelease": true, "actor": actor}
				typ, data = "set_resolved_in_release", map[string]any{"version": ""}
			case "release":
				details = map[string]any{"inRelease": u.inRelease.Version, "actor": actor}
				resultDetails = details
				typ, data = "set_resolved_in_release", map[string]any{"version": u.inRelease.Version}
			}
			is.Status, is.Substatus, is.StatusDetails = "resolved", "", details
			is.resolvedAt = now
			is.InboxReviewed, is.inboxManual = true, false
			if !is.IsSubscribed {
				is.IsSubscribed, is.subReason = true, "changed_status"
			}
			log(is, typ, data)
		}
		result["status"], result["statusDetails"], result["inbox"] = "resolved", resultDetails, nil
		if len(list) == 1 && kind != "" {
			result["activity"] = deepCopy(list[0].Activity)
		}
	case u.status != "":
		// handle_other_status_updates.
		newStatus := u.status
		if newStatus == "muted" {
			newStatus = "ignored"
		}
		sub := u.substatus
		if sub == "" {
			sub = inferSubstatus(list, newStatus, u, now)
		}
		details := map[string]any{}
		if newStatus == "ignored" {
			switch {
			case sub == "archived_until_escalating":
				// ignored.py handle_archived_until_escalating.
				details = map[string]any{"ignoreUntilEscalating": true}
			case u.ignore["ignoreDuration"] != 0 || u.ignore["ignoreCount"] != 0 || u.ignore["ignoreUserCount"] != 0:
				// handle_ignored stores a snooze; without a condition it
				// deletes any and answers {}.
				details = map[string]any{"ignoreCount": nil, "ignoreUntil": nil, "ignoreUserCount": nil, "ignoreUserWindow": nil, "ignoreWindow": nil, "actor": actor}
				for k, n := range u.ignore {
					if k == "ignoreDuration" {
						if n > 0 {
							details["ignoreUntil"] = isoTime(now.Add(time.Duration(n) * time.Minute))
						}
						continue
					}
					details[k] = n
				}
			}
			result["inbox"] = nil
		}
		changed := false
		for _, is := range list {
			// Only rows whose status differs are updated.
			if is.Status != newStatus {
				is.Status, is.Substatus = newStatus, sub
				changed = true
			}
			is.StatusDetails = copyMap(details)
			if newStatus == "ignored" {
				is.InboxReviewed, is.inboxManual = true, false
			}
		}
		if changed {
			// handle_status_update records the change on every issue.
			for _, is := range list {
				typ, data := "set_unresolved", map[string]any{}
				if newStatus == "ignored" {
					typ = "set_ignored"
					for k, n := range u.ignore {
						data[k] = n
					}
				}
				log(is, typ, data)
				if !is.IsSubscribed {
					is.IsSubscribed, is.subReason = true, "changed_status"
				}
			}
		}
		result["statusDetails"] = details
	}
	if u.has["assignedTo"] {
		result["assignedTo"] = nil
		for _, is := range list {
			if u.assign == nil {
				if is.AssignedTo != nil {
					log(is, "unassigned", map[string]any{})
				}
				is.AssignedTo = nil
				continue
			}
			is.AssignedTo = copyMap(u.assign)
			log(is, "assigned", map[string]any{"assignee": u.assign["id"], "assigneeEmail": u.assign["email"], "assigneeType": u.assign["type"]})
			if u.assign["type"] == "user" && u.assign["id"] == c.d.userID() {
				is.IsSubscribed, is.subReason = true, "assigned"
			}
		}
		if u.assign != nil {
			result["assignedTo"] = copyMap(u.assign)
		}
	}
	for _, is := range list {
		if u.has["hasSeen"] {
			is.HasSeen = u.bools["hasSeen"]
		}
		if u.has["isBookmarked"] {
			is.IsBookmarked = u.bools["isBookmarked"]
			if is.IsBookmarked && !is.IsSubscribed {
				is.IsSubscribed, is.subReason = true, "bookmarked"
			}
		}
		if u.has["isSubscribed"] {
			is.IsSubscribed = u.bools["isSubscribed"]
			is.subReason = "unknown"
		}
		if u.has["isPublic"] {
			is.IsPublic = u.bools["isPublic"]
		}
		if u.has["inbox"] {
			// inbox=true marks the issue reviewed; false puts it back.
			is.InboxReviewed = u.bools["inbox"]
			is.inboxManual = !u.bools["inbox"]
		}
	}
	if u.has["isSubscribed"] {
		result["subscriptionDetails"] = map[string]any{"reason": "unknown"}
	}
	if u.has["isPublic"] {
		result["shareId"] = nil
		if u.bools["isPublic"] && len(list) > 0 {
			result["shareId"] = hexID("share", list[len(list)-1].ID)
		}
	}
	if u.has["merge"] && u.bools["merge"] && len(list) > 1 && len(projects) > 1 {
		return nil, 400, map[string]any{"detail": "Merging across multiple projects is not supported"}
	}
	return result, 0, nil
}

// inferSubstatus is sentry.issues.status_change.infer_substatus for the
// issues of one update.
func inferSubstatus(list []*Issue, newStatus string, u *update, now time.Time) string {
	switch newStatus {
	case "ignored":
		// untilEscalating is not a StatusDetailsValidator field, so DRF
		// drops it before infer_substatus could see it.
		if len(u.ignore) > 0 {
			return "archived_until_condition_met"
		}
		return "archived_forever"
	case "unresolved":
		if len(list) != 1 {
			return "ongoing"
		}
		switch is := list[0]; is.Status {
		case "ignored":
			if is.FirstSeen.After(now.Add(-7 * 24 * time.Hour)) {
				return "new"
			}
		case "resolved":
			return "regressed"
		}
		return "ongoing"
	}
	return ""
}

// checkAssignee is GroupValidator.validate_assignedTo's membership checks
// for an actor resolved in the organization: with Open Membership
// (allow_joinleave, the fake's default) nothing more is checked; otherwise
// a user must be on one of the project's teams and a team must have
// access to the project. "" means allowed.
func (d *Data) checkAssignee(o *Org, p *Project, a map[string]any) string {
	if !o.ClosedMembership || p == nil {
		return ""
	}
	t := o.team(p.Team)
	if a["type"] == "team" {
		if t == nil || fmt.Sprint(a["id"]) != t.ID {
			return "Cannot assign to a team without access to the project"
		}
		return ""
	}
	id := fmt.Sprint(a["id"])
	onTeam := t != nil && (slices.Contains(t.Members, id) || (id == fmt.Sprint(d.userID()) && !t.NotMember))
	if !onTeam {
		return "Cannot assign to non-team member"
	}
	return ""
}
