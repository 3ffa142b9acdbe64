package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/sentry-mcp/sentry-mcp/sentry"
)

var printer = message.NewPrinter(language.English)

// userError is a problem the agent can fix by changing its arguments.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, a ...any) error { return &userError{fmt.Sprintf(format, a...)} }

// notFound names what a handler asked Sentry for, so that a 404 says
// which thing was not found and which tool lists the valid ones.
type notFound struct {
	err    error
	what   string // e.g. organization "acme"
	lister string // e.g. list_organizations
}

func (e *notFound) Error() string { return e.err.Error() }
func (e *notFound) Unwrap() error { return e.err }

// subject wraps err, when Sentry answered 404, with what was looked up.
func subject(err error, lister, format string, a ...any) error {
	if sentry.StatusCode(err) != 404 {
		return err
	}
	return &notFound{err: err, what: fmt.Sprintf(format, a...), lister: lister}
}

// describe turns any error from a handler into words that say what to do
// next: the one mapping from failures to tool errors.
func describe(tool string, scopes []string, err error) string {
	var (
		ue  *userError
		ia  *sentry.InvalidArgumentError
		se  *sentry.Error
		ne  *sentry.NetworkError
		de  *sentry.DecodeError
		te  *sentry.TokenError
		tl  *sentry.TooLargeError
		msg string
	)
	switch {
	case errors.As(err, &tl):
		return fmt.Sprintf("Sentry's answer to %s %s is too large (over %d MB); narrow the request (a smaller limit, a more specific query) and try again.", tl.Method, line(tl.Path, capText), tl.Limit>>20)
	case errors.As(err, &ue):
		return ue.msg
	case errors.As(err, &te):
		return "Cannot authenticate to Sentry: " + line(te.Error(), capDetail)
	case errors.As(err, &ia):
		return "Invalid argument: " + line(ia.Error(), capText) + "."
	case errors.As(err, &se):
		msg = describeStatus(tool, scopes, se, err)
	case errors.Is(err, context.Canceled):
		return "The request was cancelled."
	case errors.Is(err, context.DeadlineExceeded):
		return "Sentry did not answer in time. Try again; if it persists, Sentry may be degraded."
	case errors.As(err, &ne):
		return fmt.Sprintf("Could not reach Sentry at %s (%s). Check the network and the --url / SENTRY_URL setting, then try again.", line(ne.Host, capText), line(ne.Err.Error(), capDetail))
	case errors.As(err, &de):
		return fmt.Sprintf("Sentry answered %s %s with something that is not the expected JSON. Check that --url / SENTRY_URL points at a Sentry instance.", de.Method, de.Path)
	default:
		return "Error: " + line(err.Error(), capText)
	}
	return msg
}

func describeStatus(tool string, scopes []string, e *sentry.Error, err error) string {
	// Sentry's detail can echo what was sent or stored; quote it as data.
	detail := line(strings.TrimSuffix(e.Detail, "."), capDetail)
	switch {
	case e.StatusCode == 400:
		return fmt.Sprintf("Sentry rejected the request: %s. Check the arguments (search syntax, period, cursor).", detail)
	case e.StatusCode == 401 && e.Code == sentry.CodeSSORequired:
		where := "in the Sentry web UI"
		if e.LoginURL != "" { // resolved against the configured Sentry by the client
			where = "at " + line(e.LoginURL, capText)
		}
		return fmt.Sprintf("This organization requires single sign-on (%s). Complete SSO %s in your browser, then try again; signing in to sentry-mcp again does not help.", detail, where)
	case e.StatusCode == 401 && e.Code == sentry.Code2FARequired:
		return fmt.Sprintf("This organization requires two-factor authentication (%s). Enable it for your account in Sentry (Settings > Account > Security), then try again.", detail)
	case e.StatusCode == 401 && e.Code == sentry.CodeSudoRequired:
		return fmt.Sprintf("Sentry wants you to confirm your identity first (%s). Sign in to the Sentry web UI again, then try again.", detail)
	case e.StatusCode == 401:
		return fmt.Sprintf("Sentry did not accept the credentials (%s). Sign in again with `sentry-mcp auth login`, or set SENTRY_ACCESS_TOKEN to a valid token.", detail)
	case e.StatusCode == 403:
		need := "no particular scope"
		if len(scopes) > 0 {
			need = "the scope " + strings.Join(scopes, " or ")
		}
		return fmt.Sprintf("Sentry denied access (%s). %s needs %s, and your role in the organization must allow it; sign in with that scope or ask an organization owner.", detail, tool, need)
	case e.StatusCode == 404:
		var nf *notFound
		if errors.As(err, &nf) {
			return fmt.Sprintf("Not found: %s (%s). %s shows the valid ones.", nf.what, detail, nf.lister)
		}
		return fmt.Sprintf("Not found (%s). Check the organization slug and the issue or project id; list_organizations, list_projects and list_issues show valid ones.", detail)
	case e.StatusCode == 429:
		when := "in a few seconds"
		if !e.RateLimit.Reset.IsZero() {
			secs := int(time.Until(e.RateLimit.Reset).Seconds() + 0.999)
			if secs < 1 {
				secs = 1
			}
			when = fmt.Sprintf("in %d s (at %s)", secs, e.RateLimit.Reset.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("Sentry rate-limited this request (%s). Try again %s.", detail, when)
	case e.StatusCode >= 500:
		return fmt.Sprintf("Sentry had a server error (HTTP %d: %s). Try again shortly.", e.StatusCode, detail)
	default:
		return fmt.Sprintf("Sentry answered HTTP %d: %s.", e.StatusCode, detail)
	}
}

// plural is "1 user", "2 users".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
