package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// fileStore keeps all credentials in one JSON file, a map host -> Credential,
// mode 0600 in a 0700 directory, rewritten atomically (temp file in the same
// directory, fsync, rename). Writers in one process are serialised; two
// processes saving at the same instant may lose one of the two updates, never
// the file.
type fileStore struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	// why is why the keyring is not used, for the plain-text warning that
	// Save logs (once) when it writes a secret to the file; "" = no warning.
	why    string
	warned bool
}

func newFileStore(path string, log *slog.Logger) *fileStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &fileStore{path: path, log: log}
}

var errNoConfigDir = errors.New("credential file: no configuration directory (set HOME or XDG_CONFIG_HOME, or pass a config directory)")

func (f *fileStore) Location() string { return f.path }

func (f *fileStore) Load(host string) (*Credential, error) {
	key, err := hostKey(host)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, _, err := f.read()
	if err != nil {
		return nil, err
	}
	c := m[key]
	if c == nil {
		return nil, ErrNotFound
	}
	if err := checkHost(c, key, f.path); err != nil {
		return nil, err
	}
	return c, nil
}

// checkHost refuses a stored credential whose host is not the key it is
// stored under (a tampered store could otherwise send the refresh token and
// client secret elsewhere), and fills in a missing host.
func checkHost(c *Credential, key, location string) error {
	if c.Host == "" {
		c.Host = key
		return nil
	}
	if h, err := hostKey(c.Host); err != nil || h != key {
		return &UnreadableError{Location: location, Host: key, Reason: fmt.Sprintf("the entry for %s names another Sentry (%q); refusing it: remove it with `sentry-mcp auth logout` and sign in again", key, c.Host)}
	}
	return nil
}

func (f *fileStore) Save(c *Credential) error {
	key, cp, err := prepare(c)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, _, err := f.read()
	if err != nil {
		return err // a corrupt file is reported, never overwritten
	}
	m[key] = cp
	if err := f.write(m); err != nil {
		return err
	}
	if f.why != "" && !f.warned {
		f.warned = true
		f.log.Warn("credentials are stored in plain text at "+f.path+" because "+f.why, slog.String("location", f.path))
	}
	return nil
}

func (f *fileStore) Delete(host string) error {
	key, err := hostKey(host)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, exists, err := f.read()
	if err != nil {
		return err
	}
	if !exists {
		return ErrNotFound
	}
	if _, ok := m[key]; !ok {
		return ErrNotFound
	}
	delete(m, key)
	if len(m) == 0 {
		// Nothing left: leave no plain-text file behind.
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing credential file %s: %w", f.path, err)
		}
		syncDir(filepath.Dir(f.path))
		return nil
	}
	return f.write(m)
}

// read returns the stored map (empty when the file does not exist) and
// whether the file exists. It refuses a symlink, a file owned by another
// user and a directory others can write, and tightens a file readable by
// others to 0600.
func (f *fileStore) read() (map[string]*Credential, bool, error) {
	if f.path == "" {
		return nil, false, errNoConfigDir
	}
	unreadable := func(reason string, err error) error {
		return &UnreadableError{Location: f.path, Reason: reason, Err: err}
	}
	fi, err := os.Lstat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*Credential{}, false, nil
	}
	if err != nil {
		return nil, false, unreadable(err.Error(), err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, true, unreadable("it is a symlink; refusing to follow it (replace it with the file itself)", nil)
	}
	if !fi.Mode().IsRegular() {
		return nil, true, unreadable("it is not a regular file", nil)
	}
	if err := checkDir(filepath.Dir(f.path)); err != nil {
		return nil, true, unreadable(err.Error(), err)
	}
	file, err := os.OpenFile(f.path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, true, unreadable(err.Error(), err)
	}
	defer file.Close()
	if fi, err = file.Stat(); err != nil {
		return nil, true, unreadable(err.Error(), err)
	}
	if checkPermissions && !ownedByMe(fi) {
		return nil, true, unreadable("it belongs to another user; refusing it", nil)
	}
	f.tighten(file, fi)
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, true, unreadable(err.Error(), err)
	}
	m := map[string]*Credential{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, true, unreadable("it is corrupt ("+describeJSONError(err)+"): fix it, or remove it and sign in again", nil)
		}
		if m == nil { // the file said null
			m = map[string]*Credential{}
		}
	}
	return m, true, nil
}

// tighten re-asserts mode 0600 on the open credential file.
func (f *fileStore) tighten(file *os.File, fi fs.FileInfo) {
	if !checkPermissions || fi.Mode().Perm() == fileMode {
		return
	}
	if err := file.Chmod(fileMode); err != nil {
		f.log.Warn("could not restrict the credential file to mode 0600",
			slog.String("location", f.path), slog.String("error", err.Error()))
		return
	}
	f.log.Warn("credential file was readable by others; restricted it to mode 0600",
		slog.String("location", f.path), slog.String("old_mode", fi.Mode().Perm().String()))
}

// tempPattern is the name of the temp files write creates next to path.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// staleTempAge: a temp file older than this is left over from a writer that
// died (kill -9) and holds live tokens; a live writer renames its temp file
// within milliseconds.
const staleTempAge = time.Minute

// removeTemps removes the temp files next to path older than age and
// returns their names.
func removeTemps(path string, age time.Duration) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, n := range names {
		fi, err := os.Lstat(n)
		if err != nil || time.Since(fi.ModTime()) < age {
			continue
		}
		if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, n)
	}
	return removed, errors.Join(errs...)
}

// write replaces the file atomically with m.
func (f *fileStore) write(m map[string]*Credential) (err error) {
	dir := filepath.Dir(f.path)
	if err := ensureDir(dir); err != nil {
		return err
	}
	if removed, err := removeTemps(f.path, staleTempAge); err != nil {
		f.log.Warn("could not remove a stale temporary credential file", slog.String("location", dir), slog.String("error", err.Error()))
	} else if len(removed) > 0 {
		f.log.Info("removed stale temporary credential files", slog.Int("count", len(removed)), slog.String("location", dir))
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding credentials: %w", err)
	}
	data = append(data, '\n')

	tmp, err := os.CreateTemp(dir, tempPattern(f.path))
	if err != nil {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(fileMode); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	// rename replaces a symlink at f.path itself, never its target.
	if err := os.Rename(tmpName, f.path); err != nil {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	syncDir(dir)
	return nil
}

// ensureDir creates dir with mode 0700 when missing and checks it
// (checkDir).
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("creating credential directory %s: %w", dir, err)
	}
	return checkDir(dir)
}

// checkDir refuses a directory (symlinks to it are followed: dotfile
// managers link ~/.config) that is not a directory, belongs to another user
// or that others can write to (a shared directory such as /tmp: anyone
// could swap the files in it). Our own directory readable or writable by
// others is restricted to 0700.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("credential directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("credential directory %s is not a directory", dir)
	}
	if !checkPermissions {
		return nil
	}
	if !ownedByMe(fi) {
		return fmt.Errorf("credential directory %s belongs to another user; refusing it", dir)
	}
	if fi.Mode().Perm() == dirMode {
		return nil
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return fmt.Errorf("restricting credential directory %s to mode 0700: %w", dir, err)
	}
	return nil
}

// syncDir fsyncs a directory so a rename or remove in it is durable. Not
// possible on every OS (Windows); errors are ignored.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// describeJSONError says what is wrong with a stored document without quoting
// its content (which may hold a token).
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q has the wrong type", te.Field)
		}
		return fmt.Sprintf("expected %s, found %s", te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return "not valid JSON"
	}
}
