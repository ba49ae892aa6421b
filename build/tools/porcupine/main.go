// Command porcupine checks a key-value history recorded by the chaos suite (test/chaos/) for
// linearizability with github.com/anishathalye/porcupine, the checker etcd's robustness tests use.
// A test-world tool only: the product stays TypeScript.
//
// Usage: porcupine [-timeout 60s] [history.json]   (stdin when no file is given)
//
// The history is {"ops": [op...]}; an op is
//
//	{"client": 0, "input": {"op": "put"|"get", "key": "k", "value": "v"},
//	 "output": {"ok": true, "value": "v"|null, "unknown": false}, "call": ns, "return": ns}
//
// A put that did not succeed (ok false, or unknown) may still have been applied: it is checked as
// returning at the end of the history, with no output to match. A get that did not succeed tells
// nothing and is left out. The verdict on stdout is
//
//	{"linearizable": true|false|"unknown", "ops": N, "checked": N, "keys": N}
//
// "unknown" when the check did not finish within -timeout. Exit code 0 for a verdict, 2 for bad input.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

type input struct {
	Op    string  `json:"op"`
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

type output struct {
	Ok      bool    `json:"ok"`
	Value   *string `json:"value"`
	Unknown bool    `json:"unknown"`
}

type op struct {
	Client int    `json:"client"`
	Input  input  `json:"input"`
	Output output `json:"output"`
	Call   int64  `json:"call"`
	Return int64  `json:"return"`
}

type history struct {
	Ops []op `json:"ops"`
}

// kvInput is what the model sees: the operation and, for a get, the value it read ("" = absent;
// the suite never writes an empty value).
type kvInput struct {
	put   bool
	key   string
	value string
}

// model is porcupine's key-value model, partitioned by key: per key the state is the value.
func model() porcupine.Model {
	return porcupine.Model{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var order []string
			for _, o := range h {
				k := o.Input.(kvInput).key
				if _, seen := byKey[k]; !seen {
					order = append(order, k)
				}
				byKey[k] = append(byKey[k], o)
			}
			out := make([][]porcupine.Operation, 0, len(order))
			for _, k := range order {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() interface{} { return "" },
		Step: func(state, in, out interface{}) (bool, interface{}) {
			i := in.(kvInput)
			if i.put {
				return true, i.value
			}
			return out.(string) == state.(string), state
		},
		DescribeOperation: func(in, out interface{}) string {
			i := in.(kvInput)
			if i.put {
				return fmt.Sprintf("put(%q, %q)", i.key, i.value)
			}
			return fmt.Sprintf("get(%q) -> %q", i.key, out)
		},
	}
}

// operations turns the recorded ops into porcupine's, as the package comment says.
func operations(h history) ([]porcupine.Operation, error) {
	var ops []porcupine.Operation
	for n, o := range h.Ops {
		deref := func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		}
		switch o.Input.Op {
		case "put":
			if o.Input.Value == nil || *o.Input.Value == "" {
				return nil, fmt.Errorf("op %d: a put needs a non-empty value", n)
			}
			ret := o.Return
			if !o.Output.Ok || o.Output.Unknown {
				ret = math.MaxInt64 // possibly applied, at any time from its call on
			}
			ops = append(ops, porcupine.Operation{ClientId: o.Client, Call: o.Call, Return: ret,
				Input: kvInput{put: true, key: o.Input.Key, value: *o.Input.Value}, Output: ""})
		case "get":
			if !o.Output.Ok || o.Output.Unknown {
				continue
			}
			ops = append(ops, porcupine.Operation{ClientId: o.Client, Call: o.Call, Return: o.Return,
				Input: kvInput{key: o.Input.Key}, Output: deref(o.Output.Value)})
		default:
			return nil, fmt.Errorf("op %d: unknown op %q (put or get)", n, o.Input.Op)
		}
		if o.Return < o.Call {
			return nil, fmt.Errorf("op %d: returns (%d) before its call (%d)", n, o.Return, o.Call)
		}
	}
	return ops, nil
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("porcupine", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 60*time.Second, "bound on the check; the verdict is \"unknown\" beyond it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src := stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	var h history
	if err := json.NewDecoder(src).Decode(&h); err != nil {
		return fmt.Errorf("reading the history: %w", err)
	}
	ops, err := operations(h)
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	for _, o := range ops {
		keys[o.Input.(kvInput).key] = true
	}
	var verdict interface{}
	switch porcupine.CheckOperationsTimeout(model(), ops, *timeout) {
	case porcupine.Ok:
		verdict = true
	case porcupine.Illegal:
		verdict = false
	default:
		verdict = "unknown"
	}
	return json.NewEncoder(stdout).Encode(map[string]interface{}{
		"linearizable": verdict, "ops": len(h.Ops), "checked": len(ops), "keys": len(keys),
	})
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("porcupine " + porcupineVersion + " (github.com/anishathalye/porcupine, deis-etcd chaos checker)")
		return
	}
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "porcupine:", err)
		os.Exit(2)
	}
}
