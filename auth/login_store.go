package auth

import (
	"errors"
	"fmt"
	"log/slog"
)

// LogoutNotice is what `auth logout` prints after removing the credential:
// Sentry has no token revocation endpoint for OAuth applications, so the
// token stays valid there until it expires.
const LogoutNotice = "The removed token stays valid at Sentry until it expires (30 days after it was issued or last refreshed). " +
	"To revoke it now, remove the application in Sentry under Settings > Account > API > Authorized Applications."

// StoredAt is where the credential for host is (or would be) saved in
// store: the file path or LocationKeyring. For `auth status`.
func StoredAt(store Store, host string) string {
	if l, ok := store.(interface{ LocationOf(string) string }); ok {
		return l.LocationOf(host)
	}
	return store.Location()
}

// SaveLogin saves a new sign-in (`auth login`): to the OS keyring when it is
// usable and opts.Insecure is not set, else to the plain file (with a
// warning saying why). It then removes every other copy for the host (the
// other store's entry and stale temporary files), so that exactly one copy
// exists and every process uses it. It returns the location written.
func SaveLogin(opts StoreOptions, c *Credential) (string, error) {
	return saveLogin(opts, defaultKeyringEnv(), c)
}

func saveLogin(opts StoreOptions, env keyringEnv, c *Credential) (string, error) {
	key, cp, err := prepare(c)
	if err != nil {
		return "", err
	}
	log := opts.logger()
	file := newFileStore(opts.filePath(), log)
	ks, why := usableKeyring(opts, env)
	if ks != nil {
		if err := ks.saveKeyring(key, cp); err != nil {
			return "", err
		}
		if err := file.Delete(key); err != nil && !errors.Is(err, ErrNotFound) {
			return LocationKeyring, fmt.Errorf("the sign-in was saved to the OS keyring, but its old plain-text copy in %s could not be removed (processes would keep using it): %w", file.Location(), err)
		}
		removeStaleTemps(file, log)
		return LocationKeyring, nil
	}
	file.why = why
	if err := file.Save(cp); err != nil {
		return "", err
	}
	// Without --insecure-storage the keyring is not usable now: an old entry
	// in it is harmless (the file is served first). With it, the keyring
	// may work: remove its copy.
	if !opts.Insecure {
		return file.Location(), nil
	}
	if k := newKeyringStore(env, opts.timeout()); k.probe() == nil {
		if err := k.deleteKeyring(key); err != nil && !errors.Is(err, ErrNotFound) {
			log.Warn("could not remove the old keyring copy of the credential", slog.String("host", key), slog.String("error", err.Error()))
		}
	}
	return file.Location(), nil
}

func removeStaleTemps(file *fileStore, log *slog.Logger) {
	if file.path == "" {
		return
	}
	if _, err := removeTemps(file.path, staleTempAge); err != nil {
		log.Warn("could not remove a temporary credential file", slog.String("error", err.Error()))
	}
}

// RemoveAll removes every stored copy of host's credential (`auth logout`):
// the keyring entry (when a session bus exists), the entry in the plain
// file, and any temporary credential files left by an interrupted save. It
// returns the locations removed from, and ErrNotFound when there was
// nothing to remove. Print LogoutNotice afterwards.
func RemoveAll(opts StoreOptions, host string) ([]string, error) {
	return removeAll(opts, defaultKeyringEnv(), host)
}

func removeAll(opts StoreOptions, env keyringEnv, host string) ([]string, error) {
	key, err := hostKey(host)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	k := newKeyringStore(env, opts.timeout())
	switch err := k.deleteKeyring(key); {
	case err == nil:
		removed = append(removed, LocationKeyring)
	case errors.Is(err, ErrNotFound):
	case env.bus != nil && env.bus() != nil:
		// No session bus: nothing can be stored there for this session.
	default:
		errs = append(errs, err)
	}
	file := newFileStore(opts.filePath(), opts.logger())
	switch err := file.Delete(key); {
	case err == nil:
		removed = append(removed, file.Location())
	case errors.Is(err, ErrNotFound), errors.Is(err, errNoConfigDir):
	default:
		errs = append(errs, err)
	}
	if file.path != "" {
		temps, err := removeTemps(file.path, 0)
		removed = append(removed, temps...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, err
	}
	if len(removed) == 0 {
		return nil, ErrNotFound
	}
	return removed, nil
}
