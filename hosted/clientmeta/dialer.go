package clientmeta

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress is matched (errors.Is) by every *BlockedAddressError.
var ErrBlockedAddress = fmt.Errorf("address not allowed")

// BlockedAddressError reports a connection refused before it was made because the
// resolved address is not a public unicast address (SSRF protection).
type BlockedAddressError struct {
	Addr   netip.Addr // the resolved address
	Reason string     // e.g. "loopback", "private (RFC 1918)"
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: %s address", e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrBlockedAddress) true.
func (e *BlockedAddressError) Is(target error) bool { return target == ErrBlockedAddress }

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	ietfProto   = netip.MustParsePrefix("192.0.0.0/24")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4") // includes 255.255.255.255
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48")
	compat4     = netip.MustParsePrefix("::/96") // IPv4-compatible (deprecated) and ::, ::1
	siteLocal   = netip.MustParsePrefix("fec0::/10")
)

// blockReason returns why a is not an acceptable destination, or "" when it is a public
// unicast address. allowLoopback lets loopback addresses through (tests only).
func blockReason(a netip.Addr, allowLoopback bool) string {
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is6() {
		// IPv6 forms that embed an IPv4 address are judged by that address too.
		if nat64.Contains(a) || (compat4.Contains(a) && !a.IsUnspecified() && !a.IsLoopback()) {
			b := a.As16()
			if r := blockReason(netip.AddrFrom4([4]byte(b[12:])), allowLoopback); r != "" {
				return r + " (embedded in IPv6)"
			}
		}
	}
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case thisNetwork.Contains(a):
		return "\"this network\" (0.0.0.0/8)"
	case a.IsPrivate():
		if a.Is4() {
			return "private (RFC 1918)"
		}
		return "private (unique local fc00::/7)"
	case cgnat.Contains(a):
		return "shared (CGNAT 100.64.0.0/10)"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	case reserved4.Contains(a):
		return "reserved (240.0.0.0/4)"
	case ietfProto.Contains(a):
		return "IETF protocol assignment (192.0.0.0/24)"
	case siteLocal.Contains(a):
		return "site-local"
	case nat64Local.Contains(a):
		return "local-use NAT64"
	}
	return ""
}

// control is a net.Dialer Control func that refuses non-public destinations. It runs
// after name resolution and before connecting, so the checked address is the one used.
func control(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedAddressError{Reason: "unparseable", Addr: netip.Addr{}}
		}
		if r := blockReason(ap.Addr(), allowLoopback); r != "" {
			return &BlockedAddressError{Addr: ap.Addr(), Reason: r}
		}
		return nil
	}
}

// newDialer returns the SSRF-safe dialer.
func newDialer(timeout time.Duration, allowLoopback bool) *net.Dialer {
	return &net.Dialer{
		Timeout:   timeout,
		KeepAlive: -1,
		Control:   control(allowLoopback),
	}
}
