package oracle

import "fmt"

// Report is the outcome of a check.
type Report struct {
	Expected   int // records produced (acknowledged by Kafka)
	Entries    int // stream entries read back that carry an expected key
	Lost       int // expected records with no entry
	Duplicated int // entries beyond the first for the same record
	OutOfOrder int // first entries that came after a later record of their partition
	Unexpected int // entries naming a record that was never produced
}

func (r Report) String() string {
	return fmt.Sprintf("expected=%d entries=%d lost=%d duplicated=%d out_of_order=%d unexpected=%d",
		r.Expected, r.Entries, r.Lost, r.Duplicated, r.OutOfOrder, r.Unexpected)
}

// OK reports whether nothing was lost or reordered (duplicates are allowed:
// the contract is at-least-once).
func (r Report) OK() bool { return r.Lost == 0 && r.OutOfOrder == 0 && r.Unexpected == 0 }

// Checker collects expected records and observed entries. Not safe for
// concurrent use.
type Checker struct {
	expected map[int32]map[int64]int // seq -> times observed
	highest  map[int32]int64
	report   Report
}

// NewChecker returns an empty Checker.
func NewChecker() *Checker {
	return &Checker{expected: make(map[int32]map[int64]int), highest: make(map[int32]int64)}
}

// Expect registers a produced record.
func (c *Checker) Expect(partition int32, seq int64) {
	m := c.expected[partition]
	if m == nil {
		m = make(map[int64]int)
		c.expected[partition] = m
	}
	if _, dup := m[seq]; !dup {
		m[seq] = 0
		c.report.Expected++
	}
}

// Observe registers an entry read back, in stream order per partition.
func (c *Checker) Observe(partition int32, seq int64) {
	seen, ok := c.expected[partition][seq]
	if !ok {
		c.report.Unexpected++
		return
	}
	c.report.Entries++
	c.expected[partition][seq] = seen + 1
	if seen > 0 {
		c.report.Duplicated++
		return
	}
	if hi, ok := c.highest[partition]; ok && seq < hi {
		c.report.OutOfOrder++
	}
	if hi, ok := c.highest[partition]; !ok || seq > hi {
		c.highest[partition] = seq
	}
}

// Report returns the outcome so far.
func (c *Checker) Report() Report {
	r := c.report
	r.Lost = 0
	for _, m := range c.expected {
		for _, n := range m {
			if n == 0 {
				r.Lost++
			}
		}
	}
	return r
}
