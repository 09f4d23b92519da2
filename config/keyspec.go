package config

import (
	"fmt"
	"regexp"
	"strings"
)

// keyIDPattern is what an encryption key id may look like: it is stored
// in every sealed entry, so it stays short and printable.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidKeyID reports whether id can name an encryption key: 1 to 64
// letters, digits, '.', '_' or '-'. Package encryption applies the same
// rule to the keys it is given.
func ValidKeyID(id string) bool { return keyIDPattern.MatchString(id) }

// ParseKeySpec splits "ID=FILE", the form encryption.keys and the decrypt
// command's --key flag take.
func ParseKeySpec(spec string) (id, file string, err error) {
	id, file, ok := strings.Cut(spec, "=")
	switch {
	case !ok:
		return "", "", fmt.Errorf("config: key spec %q is not ID=FILE", spec)
	case !ValidKeyID(id):
		return "", "", fmt.Errorf("config: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", id)
	case file == "":
		return "", "", fmt.Errorf("config: key %s has no file", id)
	}
	return id, file, nil
}
