package auth

import (
	"errors"
	"fmt"
)

// ErrUnreadable is matched (errors.Is) by every error saying that a stored
// credential exists but cannot be used: a corrupt file or keyring entry, a
// credential file that is a symlink, owned by someone else or in a directory
// others can write, an entry naming another host. Use errors.As with
// *UnreadableError for the location.
var ErrUnreadable = errors.New("the stored Sentry credential cannot be read")

// UnreadableError says which store location is unreadable and why.
type UnreadableError struct {
	Location string // the file path, or "keyring"
	Host     string // the credential's key, when known
	Reason   string // what is wrong, without any secret
	Err      error  // the underlying error, if any
}

func (e *UnreadableError) Error() string {
	what := "the credential store"
	switch {
	case e.Location == LocationKeyring && e.Host != "":
		what = "the OS keyring entry for " + e.Host
	case e.Location != "":
		what = "credential file " + e.Location
	}
	return fmt.Sprintf("%s is unreadable: %s", what, e.Reason)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreadable) true.
func (e *UnreadableError) Is(target error) bool { return target == ErrUnreadable }
