/* husk exec: run a new process inside a container. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/container.h"
#include "libhusk/utils.h"

static void exec_usage(void)
{
	printf("Usage: husk [GLOBAL OPTIONS] exec [OPTIONS] CONTAINER-ID [COMMAND [ARG...]]\n\n"
	       "Run a process in every namespace and the cgroup of a container.\n\n"
	       "Options:\n"
	       "  -p, --process FILE       the process as a runtime-spec process JSON\n"
	       "  -t, --tty                allocate a pseudo-terminal\n"
	       "  -d, --detach             do not wait for the process\n"
	       "      --pid-file FILE      write the process's host pid to FILE\n"
	       "      --console-socket S   send the pty master to the AF_UNIX socket S\n"
	       "      --cwd DIR            working directory inside the container\n"
	       "  -e, --env KEY=VALUE      set an environment variable (repeatable)\n"
	       "  -u, --user UID[:GID]     run as this user\n"
	       "  -c, --cap CAP            add a capability (repeatable; never inheritable)\n"
	       "      --no-new-privs       set no_new_privs\n"
	       "      --preserve-fds N     pass N extra fds (from fd 3)\n"
	       "  -h, --help               show this help\n");
}

static void push(char ***v, size_t *n, const char *s)
{
	*v = realloc(*v, sizeof(char *) * (*n + 2));
	if (*v == NULL)
		abort();
	(*v)[(*n)++] = (char *)s;
	(*v)[*n] = NULL;
}

int cmd_exec(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {
		{"process", required_argument, NULL, 'p'},
		{"tty", no_argument, NULL, 't'},
		{"detach", no_argument, NULL, 'd'},
		{"pid-file", required_argument, NULL, 'P'},
		{"console-socket", required_argument, NULL, 'S'},
		{"cwd", required_argument, NULL, 'w'},
		{"env", required_argument, NULL, 'e'},
		{"user", required_argument, NULL, 'u'},
		{"cap", required_argument, NULL, 'c'},
		{"no-new-privs", no_argument, NULL, 'n'},
		{"preserve-fds", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	husk_exec_opts_t o = {.root = g->root};
	cleanup_free char **env = NULL;
	cleanup_free char **caps = NULL;
	size_t nenv = 0, ncaps = 0;
	cleanup_error husk_error_t err = {0};
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "+p:tde:u:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.process_file = optarg;
			break;
		case 't':
			o.tty = true;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'P':
			o.pid_file = optarg;
			break;
		case 'S':
			o.console_socket = optarg;
			break;
		case 'w':
			o.cwd = optarg;
			break;
		case 'e':
			push(&env, &nenv, optarg);
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'c':
			push(&caps, &ncaps, optarg);
			break;
		case 'n':
			o.no_new_privs = true;
			break;
		case 'f': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 || v > 10000)
				return cli_usage_error("exec", "--preserve-fds: invalid number "
							       "\"%s\"", optarg);
			o.preserve_fds = (int)v;
			break;
		}
		case 'h':
			exec_usage();
			exit(0);
		default:
			return cli_bad_option("exec", argv);
		}
	}
	if (argc - optind < 1)
		return cli_require_args("exec", 0, 1, "container id");
	o.id = argv[optind];
	o.args = argv + optind + 1;
	o.env = env;
	o.caps = caps;
	if (o.process_file == NULL && argc - optind < 2)
		return cli_usage_error("exec", "missing command (or --process FILE)");
	if (husk_container_exec(&o, &status, &err) < 0)
		return cli_fail(&err);
	return status;
}
