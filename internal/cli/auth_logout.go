package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/auth"
)

// runLogout removes every stored copy of the credential for that Sentry.
func runLogout(args []string, stdout io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdLogout, args, os.Stderr)
	if err != nil {
		return err
	}
	removed, err := auth.RemoveAll(storeOptions(cfg, logger), host)
	if errors.Is(err, auth.ErrNotFound) {
		fmt.Fprintf(stdout, "%s: not signed in.\n", host)
		return exitCode(1)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Signed out of %s (removed from %s).\n%s\n", host, strings.Join(removed, ", "), auth.LogoutNotice)
	return nil
}
