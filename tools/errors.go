package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/sentry-mcp/sentry-mcp/sentry"
)

var printer = message.NewPrinter(language.English)

// userError is a problem the agent can fix by changing its arguments.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, a ...any) error { return &userError{fmt.Sprintf(format, a...)} }

// errorResult turns any error from a handler into a tool result with
// isError set and a message that says what to do next. It is the one
// mapping from failures to words.
func errorResult(t Tool, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(describe(t, err))
}

func describe(t Tool, err error) string {
	var (
		ue  *userError
		ia  *sentry.InvalidArgumentError
		se  *sentry.Error
		ne  *sentry.NetworkError
		de  *sentry.DecodeError
		te  *sentry.TokenError
		msg string
	)
	switch {
	case errors.As(err, &ue):
		return ue.msg
	case errors.As(err, &te):
		return "Cannot authenticate to Sentry: " + te.Error()
	case errors.As(err, &ia):
		return "Invalid argument: " + ia.Error() + "."
	case errors.As(err, &se):
		msg = describeStatus(t, se)
	case errors.Is(err, context.Canceled):
		return "The request was cancelled."
	case errors.Is(err, context.DeadlineExceeded):
		return "Sentry did not answer in time. Try again; if it persists, Sentry may be degraded."
	case errors.As(err, &ne):
		return fmt.Sprintf("Could not reach Sentry at %s (%v). Check the network and the --url / SENTRY_URL setting, then try again.", ne.Host, ne.Err)
	case errors.As(err, &de):
		return fmt.Sprintf("Sentry answered %s %s with something that is not the expected JSON. Check that --url / SENTRY_URL points at a Sentry instance.", de.Method, de.Path)
	default:
		return "Error: " + err.Error()
	}
	return msg
}

func describeStatus(t Tool, e *sentry.Error) string {
	detail := strings.TrimSuffix(e.Detail, ".")
	switch {
	case e.StatusCode == 400:
		return fmt.Sprintf("Sentry rejected the request: %s. Check the arguments (search syntax, period, cursor).", detail)
	case e.StatusCode == 401:
		return fmt.Sprintf("Sentry did not accept the credentials (%s). Sign in again with `sentry-mcp auth login`, or set SENTRY_ACCESS_TOKEN to a valid token.", detail)
	case e.StatusCode == 403:
		need := "no particular scope"
		if len(t.Scopes) > 0 {
			need = "the scope " + strings.Join(t.Scopes, " or ")
		}
		return fmt.Sprintf("Sentry denied access (%s). %s needs %s, and your role in the organization must allow it; sign in with that scope or ask an organization owner.", detail, t.Name, need)
	case e.StatusCode == 404:
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
