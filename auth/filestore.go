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
	if c.Host == "" {
		c.Host = key
	}
	return c, nil
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
	return f.write(m)
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
// whether the file exists. It tightens a file readable by others to 0600.
func (f *fileStore) read() (map[string]*Credential, bool, error) {
	if f.path == "" {
		return nil, false, errNoConfigDir
	}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*Credential{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading credential file %s: %w", f.path, err)
	}
	f.tightenFile()
	m := map[string]*Credential{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, true, fmt.Errorf("credential file %s is corrupt (%s): fix it, or remove it and sign in again",
				f.path, describeJSONError(err))
		}
		if m == nil { // the file said null
			m = map[string]*Credential{}
		}
	}
	return m, true, nil
}

// tightenFile re-asserts mode 0600 on an existing credential file.
func (f *fileStore) tightenFile() {
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(f.path)
	if err != nil || fi.Mode().Perm() == fileMode {
		return
	}
	if err := os.Chmod(f.path, fileMode); err != nil {
		f.log.Warn("could not restrict the credential file to mode 0600",
			slog.String("location", f.path), slog.String("error", err.Error()))
		return
	}
	f.log.Warn("credential file was readable by others; restricted it to mode 0600",
		slog.String("location", f.path), slog.String("old_mode", fi.Mode().Perm().String()))
}

// write replaces the file atomically with m.
func (f *fileStore) write(m map[string]*Credential) (err error) {
	dir := filepath.Dir(f.path)
	if err := ensureDir(dir); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding credentials: %w", err)
	}
	data = append(data, '\n')

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp-*")
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
	if err := os.Rename(tmpName, f.path); err != nil {
		return fmt.Errorf("writing credential file %s: %w", f.path, err)
	}
	syncDir(dir)
	return nil
}

// ensureDir creates dir with mode 0700, or restricts an existing one to 0700.
// Shared sticky directories such as /tmp are left alone.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("creating credential directory %s: %w", dir, err)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("credential directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("credential directory %s is not a directory", dir)
	}
	if fi.Mode()&os.ModeSticky != 0 || fi.Mode().Perm() == dirMode {
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
