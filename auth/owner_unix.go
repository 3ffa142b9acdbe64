//go:build unix

package auth

import (
	"io/fs"
	"os"
	"syscall"
)

// oNoFollow makes open fail on a symlink.
const oNoFollow = syscall.O_NOFOLLOW

// checkOwner reports whether fi belongs to the current (effective) user.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

const checkPermissions = true
