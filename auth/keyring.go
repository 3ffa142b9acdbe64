package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

const (
	// keyringService is the keyring service name; the account is the host.
	keyringService = "sentry-mcp"
	// probeAccount is the host-independent entry OpenStore reads to decide
	// whether the keyring works. It is never written.
	probeAccount = "sentry-mcp-probe"
)

// errKeyringTimeout is wrapped by the error of a keyring call that did not
// return within the store's timeout.
var errKeyringTimeout = errors.New("the OS keyring did not answer")

// keyringBackend is the part of go-keyring the store uses, so that tests can
// put a fake (or a frozen one) in its place.
type keyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// goKeyring is the real backend: go-keyring (Secret Service over D-Bus on
// Linux and the BSDs, Keychain on macOS, Credential Manager on Windows).
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, pw string) error       { return keyring.Set(service, user, pw) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// keyringEnv is what a keyring store talks to.
type keyringEnv struct {
	backend keyringBackend
	// bus returns nil when the keyring may be called, or why not (no D-Bus
	// session bus). nil means always callable.
	bus func() error
}

func defaultKeyringEnv() keyringEnv {
	return keyringEnv{backend: goKeyring{}, bus: sessionBusCheck}
}

// sessionBusCheck refuses the keyring on Secret Service platforms when there
// is no D-Bus session bus: godbus would otherwise auto-launch a dbus-daemon
// for this process (dbus-launch) and leave it running.
func sessionBusCheck() error {
	if !usesSecretService(runtime.GOOS) {
		return nil
	}
	return sessionBusError(os.Getenv, fmt.Sprintf("/run/user/%d", os.Getuid()))
}

// usesSecretService reports whether go-keyring talks to the Secret Service
// over D-Bus on goos (all but macOS and Windows).
func usesSecretService(goos string) bool {
	return goos != "darwin" && goos != "windows"
}

// sessionBusError mirrors godbus's session-bus discovery
// (DBUS_SESSION_BUS_ADDRESS, then runtimeDir/bus, then runtimeDir/dbus-session)
// and returns an error when it would come up empty and fall back to launching
// a bus.
func sessionBusError(getenv func(string) string, runtimeDir string) error {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(runtimeDir, "bus")); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if b, err := os.ReadFile(filepath.Join(runtimeDir, "dbus-session")); err == nil &&
		strings.HasPrefix(string(b), "DBUS_SESSION_BUS_ADDRESS=") {
		return nil
	}
	return fmt.Errorf("there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and %s does not exist)",
		filepath.Join(runtimeDir, "bus"))
}

// keyringStore keeps each credential as one compact JSON document in the OS
// keyring, service "sentry-mcp", account = host. Every call is bounded by
// timeout.
type keyringStore struct {
	env     keyringEnv
	timeout time.Duration
	// file, set by OpenStore, is the plain-text store: a host it holds is
	// served and saved there (a credential stays where `auth login` put
	// it); Delete deletes from both.
	file *fileStore
}

func newKeyringStore(env keyringEnv, timeout time.Duration) *keyringStore {
	return &keyringStore{env: env, timeout: timeout}
}

func (k *keyringStore) Location() string { return LocationKeyring }

// call runs f in a goroutine and gives up after k.timeout: go-keyring has no
// context, and a frozen Secret Service (or an unlock prompt nobody answers)
// must not hang the caller. A call that timed out keeps running in the
// background; its goroutine ends when the keyring answers.
func (k *keyringStore) call(what string, f func() (string, error)) (string, error) {
	if k.env.bus != nil {
		if err := k.env.bus(); err != nil {
			return "", err
		}
	}
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result{err: fmt.Errorf("keyring %s panicked: %v", what, p)}
			}
		}()
		v, err := f()
		ch <- result{v, err}
	}()
	t := time.NewTimer(k.timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		return "", fmt.Errorf("%w within %s (%s): is the Secret Service frozen, or waiting for an unlock prompt?",
			errKeyringTimeout, k.timeout, what)
	}
}

func (k *keyringStore) get(account string) (string, error) {
	return k.call("get", func() (string, error) { return k.env.backend.Get(keyringService, account) })
}

func (k *keyringStore) set(account, value string) error {
	_, err := k.call("set", func() (string, error) { return "", k.env.backend.Set(keyringService, account, value) })
	return err
}

func (k *keyringStore) del(account string) error {
	_, err := k.call("delete", func() (string, error) { return "", k.env.backend.Delete(keyringService, account) })
	return err
}

// probe reports whether the keyring answers: reading the probe entry must
// succeed or say "not found". Any other error (no bus, a timeout, "failed to
// unlock correct collection" from a fresh, locked or missing collection)
// means unusable.
func (k *keyringStore) probe() error {
	_, err := k.get(probeAccount)
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// Load returns the host's credential from the file when the file has one
// (a credential stays in the store it was saved to, and a process without
// the keyring must find it too), else from the keyring.
func (k *keyringStore) Load(host string) (*Credential, error) {
	key, err := hostKey(host)
	if err != nil {
		return nil, err
	}
	var ferr error
	if k.file != nil {
		c, err := k.file.Load(key)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrNotFound) {
			ferr = err // unreadable file: the keyring may still have it
		}
	}
	c, err := k.loadKeyring(key)
	if ferr != nil && err != nil {
		return nil, ferr
	}
	return c, err
}

func (k *keyringStore) loadKeyring(key string) (*Credential, error) {
	v, err := k.get(key)
	switch {
	case err == nil:
		c := new(Credential)
		if err := json.Unmarshal([]byte(v), c); err != nil {
			return nil, &UnreadableError{Location: LocationKeyring, Host: key,
				Reason: "it is not a valid credential (" + describeJSONError(err) + "): sign in again"}
		}
		if err := checkHost(c, key, LocationKeyring); err != nil {
			return nil, err
		}
		return c, nil
	case errors.Is(err, keyring.ErrNotFound):
		return nil, ErrNotFound
	default:
		return nil, fmt.Errorf("reading the credential for %s from the OS keyring: %w", key, err)
	}
}

// inFile reports whether the plain-text file holds a credential for key
// (an unreadable file counts: it is not silently bypassed).
func (k *keyringStore) inFile(key string) bool {
	if k.file == nil {
		return false
	}
	_, err := k.file.Load(key)
	return !errors.Is(err, ErrNotFound)
}

// LocationOf is where the credential for host is (or would be) saved.
func (k *keyringStore) LocationOf(host string) string {
	if key, err := hostKey(host); err == nil && k.inFile(key) {
		return k.file.Location()
	}
	return LocationKeyring
}

// Save writes c where its host's credential is: the file when the file
// holds one, else the keyring. It never moves a credential between stores
// (only SaveLogin does).
func (k *keyringStore) Save(c *Credential) error {
	key, cp, err := prepare(c)
	if err != nil {
		return err
	}
	if k.inFile(key) {
		return k.file.Save(cp)
	}
	return k.saveKeyring(key, cp)
}

func (k *keyringStore) saveKeyring(key string, cp *Credential) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encoding the credential for %s: %w", key, err)
	}
	if err := k.set(key, string(data)); err != nil {
		if errors.Is(err, keyring.ErrSetDataTooBig) {
			return fmt.Errorf("saving the credential for %s to the OS keyring: it is too big (%d bytes)", key, len(data))
		}
		return fmt.Errorf("saving the credential for %s to the OS keyring: %w (--insecure-storage stores it in a plain file instead)", key, err)
	}
	return nil
}

// deleteKeyring removes key from the keyring; ErrNotFound when absent.
func (k *keyringStore) deleteKeyring(key string) error {
	err := k.del(key)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	default:
		return fmt.Errorf("deleting the credential for %s from the OS keyring: %w", key, err)
	}
}

func (k *keyringStore) Delete(host string) error {
	key, err := hostKey(host)
	if err != nil {
		return err
	}
	found := false
	kerr := k.deleteKeyring(key)
	switch {
	case kerr == nil:
		found = true
	case errors.Is(kerr, ErrNotFound):
		kerr = nil
	}
	var ferr error
	if k.file != nil {
		switch err := k.file.Delete(key); {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			ferr = err
		}
	}
	if kerr != nil || ferr != nil {
		return errors.Join(kerr, ferr)
	}
	if !found {
		return ErrNotFound
	}
	return nil
}
