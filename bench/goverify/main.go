// Command goverify verifies a Solidarity log directory with the Go reference packages
// golang.org/x/mod/sumdb/note and sumdb/tlog, for bench/bench_verify_go.py: the checkpoint's
// signature and its witness cosignatures (c2sp.org/tlog-cosignature v1), every entry bundle
// against the level-0 hash tiles, every full tile against the level above, the root through
// tlog.TileHashReader and tlog.TreeHash, and the totals of every entry's JSON.
//
// Build offline from Debian's golang-go and golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o goverify .
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	m := append([]byte("cosignature/v1\ntime "+strconv.FormatUint(ts, 10)+"\n"), msg...)
	return ed25519.Verify(c.key, m, sig[8:])
}

func newCosigner(vkey string) (*cosigner, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed witness key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, fmt.Errorf("not a type 0x04 witness key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	return &cosigner{parts[0], binary.BigEndian.Uint32(h[:4]), ed25519.PublicKey(raw[1:])}, nil
}

type dirTiles struct{ dir string }

func tilePath(t tlog.Tile) string {
	p := t.Path() // tile/8/<L or data>/<N>[.p/<W>]
	p = strings.TrimPrefix(p, "tile/8/")
	p = strings.Replace(p, "data/", "entries/", 1)
	return "tile/" + p
}

func (d dirTiles) Height() int { return height }
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, tilePath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

type entry struct {
	Kind      string `json:"kind"`
	Currency  string `json:"currency"`
	Amount    int64  `json:"amount"`
	Direction string `json:"direction"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goverify: "+format+"\n", args...)
	os.Exit(1)
}

type witnessList []string

func (w *witnessList) String() string     { return strings.Join(*w, ",") }
func (w *witnessList) Set(v string) error { *w = append(*w, v); return nil }

func main() {
	var witnesses witnessList
	quorum := flag.Int("quorum", 0, "cosignatures required")
	flag.Var(&witnesses, "witness", "a witness verifier key (repeatable)")
	flag.Parse()
	dir, vkey := flag.Arg(0), flag.Arg(1)

	logV, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	list := []note.Verifier{logV}
	names := map[string]bool{}
	for _, w := range witnesses {
		c, err := newCosigner(w)
		if err != nil {
			fail("witness: %v", err)
		}
		list = append(list, c)
		names[c.name] = true
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(list...))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	cosigned, logSigned := 0, false
	for _, s := range n.Sigs {
		if names[s.Name] {
			cosigned++
		} else if s.Name == logV.Name() && s.Hash == logV.KeyHash() {
			logSigned = true
		}
	}
	if !logSigned {
		fail("checkpoint: not signed by the log")
	}
	if cosigned < *quorum {
		fail("checkpoint: %d cosignatures, %d required", cosigned, *quorum)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}

	tiles := dirTiles{dir}
	sums := map[string]int64{}
	counts := map[string]int64{}
	// Entry bundles against the level-0 tiles; full tiles' roots collected for the level above.
	var below []tlog.Hash
	for start := int64(0); start < size; start += 1 << height {
		w := int(min64(size-start, 1<<height))
		t := tlog.Tile{H: height, L: 0, N: start >> height, W: w}
		hashes, err := tiles.ReadTiles([]tlog.Tile{t})
		if err != nil {
			fail("%v", err)
		}
		bundle, err := os.ReadFile(filepath.Join(dir, tilePath(tlog.Tile{H: height, L: -1, N: t.N, W: w})))
		if err != nil {
			fail("%v", err)
		}
		for i := 0; i < w; i++ {
			if len(bundle) < 2 {
				fail("bundle %d: truncated", t.N)
			}
			l := int(binary.BigEndian.Uint16(bundle))
			e := bundle[2 : 2+l]
			bundle = bundle[2+l:]
			h := tlog.RecordHash(e)
			if !bytes.Equal(h[:], hashes[0][i*32:i*32+32]) {
				fail("entry %d: leaf hash does not match", start+int64(i))
			}
			var v entry
			if err := json.Unmarshal(e, &v); err != nil {
				fail("entry %d: %v", start+int64(i), err)
			}
			k := v.Kind + " " + v.Currency
			if v.Kind == "in_kind" && v.Direction == "out" {
				k = "in_kind:out " + v.Currency
			}
			sums[k] += v.Amount
			counts[k]++
		}
		if len(bundle) != 0 {
			fail("bundle %d: trailing bytes", t.N)
		}
		if w == 1<<height {
			below = append(below, tileRoot(hashes[0]))
		}
	}
	// Each level's full tiles hash to the level above.
	for level := 1; len(below) > 0; level++ {
		var next []tlog.Hash
		for i := 0; i < len(below); i += 1 << height {
			count := len(below) - i
			w := int(min64(size>>(uint(level)*height)-int64(i), 1<<height))
			t := tlog.Tile{H: height, L: level, N: int64(i >> height), W: w}
			data, err := tiles.ReadTiles([]tlog.Tile{t})
			if err != nil {
				fail("%v", err)
			}
			for j := 0; j < count && j < 1<<height; j++ {
				if !bytes.Equal(below[i+j][:], data[0][j*32:j*32+32]) {
					fail("%s: hash %d does not match the tile below", tilePath(t), j)
				}
			}
			if w == 1<<height {
				next = append(next, tileRoot(data[0]))
			}
		}
		below = next
	}
	// The root, through the reference TileHashReader (which checks every tile it reads).
	got, err := tlog.TreeHash(size, tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles))
	if err != nil {
		fail("root: %v", err)
	}
	if got != root {
		fail("root does not match the checkpoint")
	}
	raised := map[string]int64{}
	for k, v := range sums {
		kind, cur, _ := strings.Cut(k, " ")
		switch kind {
		case "donation":
			raised[cur] += v
		case "reversal":
			raised[cur] -= v
		}
	}
	fmt.Printf("ok %d entries, %d cosignatures, raised %v, counts %v\n", size, cosigned, raised, counts)
}

func tileRoot(data []byte) tlog.Hash {
	hs := make([]tlog.Hash, len(data)/32)
	for i := range hs {
		copy(hs[i][:], data[i*32:])
	}
	for len(hs) > 1 {
		for i := 0; i < len(hs)/2; i++ {
			hs[i] = tlog.NodeHash(hs[2*i], hs[2*i+1])
		}
		hs = hs[:len(hs)/2]
	}
	return hs[0]
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
