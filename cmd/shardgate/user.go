package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
)

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage client users"}
	var fromStdin bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Read a password and print the user's verifiers for the config",
		Long: `add reads a password (from the terminal without echo, or from stdin with
--password-stdin) and prints a users: entry with its SCRAM-SHA-256,
mysql_native_password and caching_sha2_password verifiers. The config keeps
only these verifiers, never the password.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				return fmt.Errorf("user name %q: must be non-empty, without control characters", name)
			}
			pw, err := readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			v, err := auth.NewVerifiers(pw)
			if err != nil {
				return err
			}
			out, err := yaml.MarshalWithOptions(struct {
				Users []config.User `yaml:"users"`
			}{[]config.User{config.UserFromVerifiers(name, v)}}, yaml.Indent(2), yaml.IndentSequence(true))
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	add.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	cmd.AddCommand(add)
	return cmd
}

func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		fmt.Fprint(cmd.ErrOrStderr(), "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}
