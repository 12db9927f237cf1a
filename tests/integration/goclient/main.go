// A WinRM client built on github.com/masterzen/winrm (Debian's golang-github-masterzen-winrm-dev),
// for the simulator's fidelity tests: runs one command and prints the outcome as JSON.
//
//	winrm-go -host 127.0.0.1 -port 5986 -https -cacert ca.pem -user Administrator -password ... -command hostname
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/masterzen/winrm"
)

type outcome struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error"`
}

func main() {
	host := flag.String("host", "127.0.0.1", "address")
	port := flag.Int("port", 5985, "port")
	https := flag.Bool("https", false, "use HTTPS")
	cacert := flag.String("cacert", "", "CA certificate (PEM) the server certificate must chain to")
	user := flag.String("user", "Administrator", "user name")
	password := flag.String("password", "", "password")
	ntlm := flag.Bool("ntlm", true, "NTLM (otherwise Basic)")
	command := flag.String("command", "hostname", "command line")
	flag.Parse()

	var ca []byte
	if *cacert != "" {
		data, err := os.ReadFile(*cacert)
		if err != nil {
			fail(err)
		}
		ca = data
	}
	endpoint := winrm.NewEndpoint(*host, *port, *https, false, ca, nil, nil, 30*time.Second)
	params := winrm.DefaultParameters
	if *ntlm {
		params.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	}
	client, err := winrm.NewClientWithParameters(endpoint, *user, *password, params)
	if err != nil {
		fail(err)
	}
	var stdout, stderr bytes.Buffer
	code, err := client.Run(*command, &stdout, &stderr)
	result := outcome{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: code}
	if err != nil {
		result.Error = err.Error()
	}
	print(result)
}

func fail(err error) {
	print(outcome{ExitCode: -1, Error: err.Error()})
	os.Exit(2)
}

func print(result outcome) {
	data, _ := json.Marshal(result)
	fmt.Println(string(data))
}
