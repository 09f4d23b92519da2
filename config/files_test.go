package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// TestCheckFilesCoversEveryFileKey sets each key whose name ends in _file
// to a missing path: CheckFiles must name it, so a new file-valued key
// cannot be forgotten.
func TestCheckFilesCoversEveryFileKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	n := 0
	for _, l := range knownKeys().leaves {
		if !strings.HasSuffix(l.key, "_file") {
			continue
		}
		n++
		t.Run(l.key, func(t *testing.T) {
			cfg := Default()
			reflect.ValueOf(&cfg).Elem().FieldByIndex(l.index).SetString(missing)
			wantProblem(t, cfg.CheckFiles(), l.key, missing, "file does not exist")
		})
	}
	if n < 8 {
		t.Errorf("got %d *_file keys, want at least 8", n)
	}
	t.Run("encryption.keys", func(t *testing.T) {
		cfg := Default()
		cfg.Encryption.Keys = []string{"a=" + missing}
		wantProblem(t, cfg.CheckFiles(), "encryption.keys", "a="+missing, "file does not exist")
	})
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	secret := write("secret", "pw\n", 0o600)
	blank := write("blank", "\n\t \n", 0o600)
	unreadable := write("unreadable", "pw\n", 0o000)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		file        string
		reason      string // "" means no problem
		skipAsAdmin bool
	}{
		{"readable secret", secret, "", false},
		{"unset", "", "", false},
		{"blank secret", blank, "file is empty", false},
		{"directory", dir, "is a directory, not a file", false},
		{"not readable", unreadable, "not readable (permission denied)", true},
		{"a pipe is not read", fifo, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skipAsAdmin && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			cfg := Default()
			cfg.Redis.PasswordFile = tt.file
			err := cfg.CheckFiles()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			wantProblem(t, err, "redis.password_file", display(tt.file), tt.reason)
		})
	}
}
