package config

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// maxInstanceIDLen is the longest group.instance.id Kafka accepts.
const maxInstanceIDLen = 249

// instanceIDChars is the character set Kafka accepts in a group instance
// id (the same as in topic names).
var instanceIDChars = regexp.MustCompile(`^[a-zA-Z0-9._-]*$`)

// checkMembership checks kafka.instance_id, kafka.rack and
// kafka.topics_exclude.
func (k Kafka) checkMembership(p *problemList) {
	if id := k.InstanceID; id != "" {
		switch {
		case len(id) > maxInstanceIDLen:
			p.add("kafka.instance_id", id, "is "+strconv.Itoa(len(id))+" characters; Kafka accepts at most "+strconv.Itoa(maxInstanceIDLen))
		case !instanceIDChars.MatchString(id):
			p.add("kafka.instance_id", id, "may hold only letters, digits, '.', '_' and '-' (Kafka's rule for group instance ids)")
		case id == "." || id == "..":
			p.add("kafka.instance_id", id, `must not be "." or ".."`)
		}
	}
	if r := k.Rack; r != "" {
		switch {
		case strings.TrimSpace(r) != r:
			p.add("kafka.rack", r, "must not start or end with white space (brokers compare racks exactly)")
		case strings.ContainsFunc(r, unicode.IsControl):
			p.add("kafka.rack", r, "must not contain control characters")
		}
	}
	if len(k.TopicsExclude) == 0 {
		return
	}
	if !k.TopicsRegex {
		p.add("kafka.topics_exclude", k.TopicsExclude, "needs kafka.topics_regex: true (it removes topics that a kafka.topics pattern matches)")
		return
	}
	for _, re := range k.TopicsExclude {
		if re == "" {
			p.add("kafka.topics_exclude", re, "an empty pattern matches every topic, so nothing would be consumed")
			continue
		}
		if _, err := regexp.Compile(re); err != nil {
			p.add("kafka.topics_exclude", re, "not a valid regular expression: "+err.Error())
		}
	}
	if cut := cutPattern(k.TopicsExclude); cut != "" {
		p.add("kafka.topics_exclude", cut, `opens a (...), [...] or {...} that a following item closes: `+
			`was one pattern split at a comma? write \, for a comma inside a pattern`)
	}
}

// cutPattern returns the first pattern of a list that leaves a (, [ or {
// open while the list joined back at its commas is balanced: the sign of
// one pattern such as ^a{1,3}$ split into ^a{1 and 3}$, which are both
// valid and match other topics. "" when no pattern looks cut.
func cutPattern(patterns []string) string {
	if len(patterns) < 2 || !balanced(strings.Join(patterns, ",")) {
		return ""
	}
	for _, re := range patterns {
		if !balanced(re) {
			return re
		}
	}
	return ""
}
