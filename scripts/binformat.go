//go:build ignore

// binformat checks that a file is an executable for the given GOOS/GOARCH
// (ELF for linux, Mach-O for darwin, PE for windows, and the right machine),
// with Go's debug/elf, debug/macho and debug/pe. scripts/release-check.sh
// runs it on every cross-compiled binary:
//
//	go run scripts/binformat.go GOOS GOARCH FILE
package main

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/binformat.go GOOS GOARCH FILE")
		os.Exit(2)
	}
	if err := check(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "binformat:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s/%s executable\n", os.Args[3], os.Args[1], os.Args[2])
}

func check(goos, goarch, path string) error {
	want := map[string]map[string]any{
		"linux":   {"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64},
		"darwin":  {"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64},
		"windows": {"amd64": uint16(pe.IMAGE_FILE_MACHINE_AMD64), "arm64": uint16(pe.IMAGE_FILE_MACHINE_ARM64)},
	}[goos][goarch]
	if want == nil {
		return fmt.Errorf("no check for %s/%s", goos, goarch)
	}
	var got any
	switch goos {
	case "linux":
		f, err := elf.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.Type != elf.ET_EXEC {
			return fmt.Errorf("%s: ELF type %v, want an executable", path, f.Type)
		}
		got = f.Machine
	case "darwin":
		f, err := macho.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.Type != macho.TypeExec {
			return fmt.Errorf("%s: Mach-O type %v, want an executable", path, f.Type)
		}
		got = f.Cpu
	case "windows":
		f, err := pe.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		got = f.Machine
	}
	if got != want {
		return fmt.Errorf("%s: machine %v, want %v (%s/%s)", path, got, want, goos, goarch)
	}
	return nil
}
