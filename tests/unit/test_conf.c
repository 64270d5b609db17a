/*
 * test_conf.c -- the tandemd config parser.
 */
#include <arpa/inet.h>
#include <check.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "server/conf.h"

/* ---- helpers ---- */

struct errors {
	char text[8192];
	int count;
};

static void collect(void *arg, const char *file, unsigned long line,
		    const char *msg)
{
	struct errors *e = arg;
	size_t used = strlen(e->text);
	snprintf(e->text + used, sizeof(e->text) - used, "%s:%lu: %s\n", file,
		 line, msg);
	e->count++;
}

/* Parses text as the config file /etc/tandem/t.conf. */
static int parse(const char *text, struct conf *c, struct errors *e)
{
	memset(e, 0, sizeof(*e));
	return conf_parse("/etc/tandem/t.conf", text, strlen(text), c, collect,
			  e);
}

/* Asserts that text fails with exactly one error containing `want` on
 * line `line`. */
static void expect_error(const char *text, unsigned long line, const char *want)
{
	struct conf c;
	struct errors e;
	int r = parse(text, &c, &e);
	ck_assert_int_eq(r, ERR_SYNTAX);
	ck_assert_msg(e.count == 1, "expected 1 error, got %d:\n%s", e.count,
		      e.text);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "/etc/tandem/t.conf:%lu: ", line);
	ck_assert_msg(strncmp(e.text, prefix, strlen(prefix)) == 0,
		      "expected an error at line %lu, got: %s", line, e.text);
	ck_assert_msg(strstr(e.text, want) != NULL, "expected '%s' in: %s",
		      want, e.text);
	conf_free(&c);
}

static uint16_t port_of(const struct conf_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

/* ---- tests ---- */

START_TEST(full_config)
{
	const char *text =
	    "# tandemd test config\n"
	    "server:\n"
	    "    listen: 127.0.0.1@5353        # comment after a value\n"
	    "    listen: ::1@5354\n"
	    "    listen: 192.0.2.1\n"
	    "    workers: 3\n"
	    "    identity: ns1.example.net\n"
	    "    version: \"tandem # not a comment\"\n"
	    "    nsid: ns1\n"
	    "    edns-buffer-size: 1400\n"
	    "    tcp-idle-timeout: 7\n"
	    "    tcp-max-clients: 50\n"
	    "    log-level: debug\n"
	    "    storage: /var/lib/tandem\n"
	    "    pidfile: run/tandemd.pid\n"
	    "\n"
	    "zone:\n"
	    "\tname: example.com\n"
	    "\tfile: zones/example.com.zone\n"
	    "zone:\n"
	    "    name: \"example.org.\"\n"
	    "    file: /srv/example.org.zone\n";
	struct conf c;
	struct errors e;
	ck_assert_msg(parse(text, &c, &e) == 0, "%s", e.text);
	ck_assert_int_eq(e.count, 0);

	ck_assert_uint_eq(c.nlistens, 3);
	ck_assert_int_eq(c.listens[0].addr.ss_family, AF_INET);
	ck_assert_uint_eq(port_of(&c.listens[0]), 5353);
	ck_assert_str_eq(c.listens[0].text, "127.0.0.1@5353");
	ck_assert_int_eq(c.listens[1].addr.ss_family, AF_INET6);
	ck_assert_uint_eq(port_of(&c.listens[1]), 5354);
	ck_assert_uint_eq(port_of(&c.listens[2]), CONF_DEFAULT_PORT);

	ck_assert_uint_eq(c.workers, 3);
	ck_assert_str_eq(c.identity, "ns1.example.net");
	ck_assert_str_eq(c.version, "tandem # not a comment");
	ck_assert_uint_eq(c.nsid_len, 3);
	ck_assert_int_eq(memcmp(c.nsid, "ns1", 3), 0);
	ck_assert_uint_eq(c.edns_buffer_size, 1400);
	ck_assert_uint_eq(c.tcp_idle_timeout, 7);
	ck_assert_uint_eq(c.tcp_max_clients, 50);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(c.storage, "/var/lib/tandem");
	/* Relative paths are relative to the config file's directory. */
	ck_assert_str_eq(c.pidfile, "/etc/tandem/run/tandemd.pid");

	ck_assert_uint_eq(c.nzones, 2);
	ck_assert_str_eq(c.zones[0].name, "example.com");
	ck_assert_str_eq(c.zones[0].file, "/etc/tandem/zones/example.com.zone");
	ck_assert_uint_eq(c.zones[0].line, 17);
	ck_assert_int_eq(memcmp(c.zones[0].apex, "\7example\3com", 13), 0);
	ck_assert_str_eq(c.zones[1].file, "/srv/example.org.zone");
	ck_assert_int_eq(memcmp(c.zones[1].apex, "\7example\3org", 13), 0);
	conf_free(&c);
}
END_TEST

START_TEST(defaults)
{
	struct conf c;
	struct errors e;
	ck_assert_int_eq(parse("server:\n", &c, &e), 0);
	ck_assert_uint_ge(c.workers, 1);
	ck_assert_ptr_nonnull(c.identity); /* the host name */
	ck_assert_str_eq(c.version, "tandem " TANDEM_VERSION);
	ck_assert_uint_eq(c.nsid_len, 0);
	ck_assert_uint_eq(c.edns_buffer_size, CONF_DEFAULT_EDNS_SIZE);
	ck_assert_uint_eq(c.tcp_idle_timeout, CONF_DEFAULT_TCP_IDLE);
	ck_assert_uint_eq(c.tcp_max_clients, CONF_DEFAULT_TCP_MAX);
	ck_assert_ptr_null(c.storage);
	ck_assert_ptr_null(c.pidfile);
	/* 0.0.0.0@53 and ::@53 */
	ck_assert_uint_eq(c.nlistens, 2);
	ck_assert_str_eq(c.listens[0].text, "0.0.0.0@53");
	ck_assert_str_eq(c.listens[1].text, "::@53");
	ck_assert_uint_eq(c.nzones, 0);
	conf_free(&c);

	/* An empty file is a valid config too. */
	ck_assert_int_eq(parse("", &c, &e), 0);
	conf_free(&c);
}
END_TEST

START_TEST(hide_and_nsid_hex)
{
	struct conf c;
	struct errors e;
	ck_assert_int_eq(parse("server:\n identity: hide\n version: \"\"\n"
			       " nsid: 0x6E7331ff\n",
			       &c, &e),
			 0);
	ck_assert_ptr_null(c.identity);
	ck_assert_ptr_null(c.version);
	ck_assert_uint_eq(c.nsid_len, 4);
	ck_assert_int_eq(memcmp(c.nsid, "ns1\xff", 4), 0);
	conf_free(&c);
}
END_TEST

START_TEST(errors_with_lines)
{
	expect_error("server:\n  colour: blue\n", 2, "unknown key 'colour'");
	expect_error("server:\n  workers: 0\n", 2, "bad workers '0'");
	expect_error("server:\n  workers: two\n", 2, "bad workers");
	expect_error("server:\n  workers: 3x\n", 2, "bad workers");
	expect_error("server:\n\n  edns-buffer-size: 100\n", 3,
		     "bad edns-buffer-size");
	expect_error("server:\n  tcp-idle-timeout: 0\n", 2,
		     "bad tcp-idle-timeout");
	expect_error("server:\n  tcp-max-clients: -1\n", 2,
		     "bad tcp-max-clients");
	expect_error("server:\n  listen: 127.0.0.1@99999\n", 2,
		     "bad listen address");
	expect_error("server:\n  listen: not-an-address\n", 2,
		     "bad listen address");
	expect_error("server:\n  listen: @53\n", 2, "bad listen address");
	expect_error("server:\n  log-level: loud\n", 2, "bad log-level");
	expect_error("server:\n  nsid: 0x123\n", 2, "bad nsid");
	expect_error("server:\n  workers: 1\n  workers: 2\n", 3,
		     "duplicate 'workers'");
	expect_error("workers: 2\n", 1, "outside of a clause");
	expect_error("options:\n", 1, "unknown clause 'options:'");
	expect_error("server:\n  identity: \"open\n", 2, "unterminated");
	expect_error("server:\n  identity: \"a\" b\n", 2,
		     "unexpected text after quoted value");
	expect_error("server:\n  just words\n", 2, "expected 'key: value'");
	expect_error("zone:\n  file: x.zone\n", 1,
		     "zone clause without 'name'");
	expect_error("server:\nzone:\n  name: example.com\n", 2,
		     "zone 'example.com' has no 'file'");
	expect_error("zone:\n  name: example.com\n  file: a\n"
		     "zone:\n  name: EXAMPLE.com.\n  file: b\n",
		     4,
		     "duplicate zone 'EXAMPLE.com.' (first at "
		     "/etc/tandem/t.conf:1)");
	expect_error("zone:\n  name: a.example\n  name: b.example\n"
		     "  file: f\n",
		     3, "duplicate 'name'");
	expect_error("zone:\n  name: a.example\n  file: f\n  listen: ::1\n", 4,
		     "unknown key 'listen' in zone clause");
}
END_TEST

START_TEST(all_errors_reported)
{
	struct conf c;
	struct errors e;
	int r = parse("server:\n  workers: 0\n  bogus: 1\n"
		      "zone:\n  file: f\n",
		      &c, &e);
	ck_assert_int_eq(r, ERR_SYNTAX);
	ck_assert_int_eq(e.count, 3);
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:2: "));
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:3: "));
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:4: "));
	conf_free(&c);
}
END_TEST

START_TEST(bad_zone_name)
{
	/* The bad name, and then the clause that has none. */
	struct conf c;
	struct errors e;
	ck_assert_int_eq(parse("zone:\n  name: a..b\n  file: f\n", &c, &e),
			 ERR_SYNTAX);
	ck_assert_int_eq(e.count, 2);
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:2: bad zone name 'a..b'"));
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:1: zone clause without"));
	ck_assert_uint_eq(c.nzones, 0);
	conf_free(&c);
}
END_TEST

START_TEST(long_and_binary_lines)
{
	char *text = malloc(10000);
	memcpy(text, "server:\n identity: ", 19);
	memset(text + 19, 'x', 9000);
	strcpy(text + 9019, "\n");
	struct conf c;
	struct errors e;
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(
	    conf_parse("t.conf", text, strlen(text), &c, collect, &e),
	    ERR_SYNTAX);
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:2: line longer"));
	conf_free(&c);
	free(text);

	static const char nul[] = "server:\n workers: 1\0\n";
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(
	    conf_parse("t.conf", nul, sizeof(nul) - 1, &c, collect, &e),
	    ERR_SYNTAX);
	ck_assert_ptr_nonnull(strstr(e.text, "t.conf:2: NUL"));
	conf_free(&c);

	/* identity longer than one TXT string */
	char longid[400];
	snprintf(longid, sizeof(longid), "server:\n identity: %0300d\n", 0);
	expect_error(longid, 2, "identity longer than 255");
}
END_TEST

START_TEST(listen_forms)
{
	struct conf_listen l;
	ck_assert_int_eq(conf_parse_listen("::", 53, &l), 0);
	ck_assert_int_eq(l.addr.ss_family, AF_INET6);
	ck_assert_uint_eq(port_of(&l), 53);
	ck_assert_int_eq(conf_parse_listen("2001:db8::1@0", 53, &l), 0);
	ck_assert_uint_eq(port_of(&l), 0);
	ck_assert_str_eq(l.text, "2001:db8::1@0");
	ck_assert_int_eq(conf_parse_listen("10.1.2.3@65535", 53, &l), 0);
	ck_assert_uint_eq(port_of(&l), 65535);
	ck_assert_int_eq(conf_parse_listen("10.1.2.3@", 53, &l), ERR_SYNTAX);
	ck_assert_int_eq(conf_parse_listen("10.1.2.3@+5", 53, &l), ERR_SYNTAX);
	ck_assert_int_eq(conf_parse_listen("[::1]:53", 53, &l), ERR_SYNTAX);
	ck_assert_int_eq(conf_parse_listen("", 53, &l), ERR_SYNTAX);
	ck_assert_int_eq(conf_parse_listen("example.com", 53, &l), ERR_SYNTAX);
}
END_TEST

START_TEST(load_file)
{
	char dir[] = "/tmp/tandem-conf-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/tandemd.conf", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("server:\n  listen: 127.0.0.1@5353\n"
	      "zone:\n  name: example.com\n  file: example.com.zone\n",
	      f);
	fclose(f);

	struct conf c;
	struct errors e = {0};
	ck_assert_int_eq(conf_load(path, &c, collect, &e), 0);
	char want[160];
	snprintf(want, sizeof(want), "%s/example.com.zone", dir);
	ck_assert_str_eq(c.zones[0].file, want);
	conf_free(&c);
	unlink(path);

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_load(path, &c, collect, &e), ERR_IO);
	ck_assert_ptr_nonnull(strstr(e.text, "cannot open"));
	conf_free(&c);
	rmdir(dir);
}
END_TEST

/* ---- user: and chroot: ---- */

static int parse_at(const char *path, const char *text, struct conf *c,
		    struct errors *e)
{
	memset(e, 0, sizeof(*e));
	return conf_parse(path, text, strlen(text), c, collect, e);
}

START_TEST(user_forms)
{
	struct passwd *pw = getpwnam("nobody");
	if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0)
		return; /* no usable 'nobody' here */
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	struct group *gr = getgrgid(gid);
	char gname[64];
	snprintf(gname, sizeof(gname), "%s", gr ? gr->gr_name : "");

	struct conf c;
	struct errors e;
	ck_assert_int_eq(parse("server:\n user: nobody\n", &c, &e), 0);
	ck_assert_str_eq(c.user.text, "nobody");
	ck_assert_str_eq(c.user.name, "nobody");
	ck_assert_uint_eq(c.user.uid, uid);
	ck_assert_uint_eq(c.user.gid, gid);
	/* initgroups: its groups include the one it runs as, never root's */
	bool has_gid = false;
	for (size_t i = 0; i < c.user.ngroups; i++) {
		ck_assert_uint_ne(c.user.groups[i], 0);
		has_gid |= c.user.groups[i] == gid;
	}
	ck_assert(has_gid);
	ck_assert_ptr_null(c.chroot);
	conf_free(&c);

	if (gname[0] != '\0') {
		char text[128];
		snprintf(text, sizeof(text), "server:\n user: nobody:%s\n",
			 gname);
		ck_assert_int_eq(parse(text, &c, &e), 0);
		ck_assert_uint_eq(c.user.gid, gid);
		conf_free(&c);
	}

	/* numeric ids: a uid with a passwd entry takes its name and groups */
	char text[128];
	snprintf(text, sizeof(text), "server:\n user: %u:%u\n", (unsigned)uid,
		 (unsigned)gid);
	ck_assert_int_eq(parse(text, &c, &e), 0);
	ck_assert_str_eq(c.user.name, "nobody");
	ck_assert_uint_eq(c.user.uid, uid);
	ck_assert_uint_gt(c.user.ngroups, 0);
	conf_free(&c);

	/* a uid without one: its group must be given, and it gets none */
	if (getpwuid(3999999999u) == NULL) {
		ck_assert_int_eq(
		    parse("server:\n user: 3999999999:3999999998\n", &c, &e),
		    0);
		ck_assert_ptr_null(c.user.name);
		ck_assert_uint_eq(c.user.uid, 3999999999u);
		ck_assert_uint_eq(c.user.gid, 3999999998u);
		ck_assert_uint_eq(c.user.ngroups, 0);
		conf_free(&c);
		expect_error("server:\n user: 3999999999\n", 2,
			     "give its group");
	}
}
END_TEST

START_TEST(user_errors)
{
	expect_error("server:\n workers: 1\n user: no-such-user-tandem\n", 3,
		     "unknown user 'no-such-user-tandem'");
	expect_error("server:\n user: nobody:no-such-group-tandem\n", 2,
		     "unknown group 'no-such-group-tandem'");
	expect_error("server:\n user: root\n", 2, "is root (uid 0)");
	expect_error("server:\n user: 0:65534\n", 2, "is root (uid 0)");
	expect_error("server:\n user: nobody:0\n", 2, "the group is root");
	expect_error("server:\n user: nobody:root\n", 2, "the group is root");
	expect_error("server:\n user: nobody:\n", 2,
		     "expected NAME or NAME:GROUP");
	expect_error("server:\n user: :nogroup\n", 2,
		     "expected NAME or NAME:GROUP");
	expect_error("server:\n user: a:b:c\n", 2,
		     "expected NAME or NAME:GROUP");
	expect_error("server:\n user: \"\"\n", 2,
		     "expected NAME or NAME:GROUP");
	expect_error("server:\n user: nobody\n user: nobody\n", 3,
		     "duplicate 'user'");
	expect_error("zone:\n name: x\n file: x\n user: nobody\n", 4,
		     "unknown key 'user' in zone clause");
}
END_TEST

START_TEST(chroot_paths)
{
	char dir[] = "/tmp/tandem-chroot-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char jail[128], conf_path[160], file[160], text[2048];
	snprintf(jail, sizeof(jail), "%s/jail", dir);
	ck_assert_int_eq(mkdir(jail, 0755), 0);
	snprintf(file, sizeof(file), "%s/plain", dir);
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	/* The config in the jail; relative paths are relative to it. */
	snprintf(conf_path, sizeof(conf_path), "%s/etc/t.conf", jail);

	struct conf c;
	struct errors e;
	snprintf(text, sizeof(text),
		 "server:\n"
		 "  chroot: ..\n"
		 "  storage: ../var/./db/\n"
		 "  pidfile: /run/tandemd.pid\n"
		 "zone:\n"
		 "  name: example.com\n"
		 "  file: ../zones/example.com.zone\n"
		 "zone:\n"
		 "  name: example.net\n"
		 "  primary: 192.0.2.1\n");
	ck_assert_int_eq(parse_at(conf_path, text, &c, &e), 0);
	char want[640];
	ck_assert_str_eq(c.chroot, jail);
	snprintf(want, sizeof(want), "%s/var/db", jail);
	ck_assert_str_eq(c.storage, want);
	snprintf(want, sizeof(want), "%s/zones/example.com.zone", jail);
	ck_assert_str_eq(c.zones[0].file, want);
	ck_assert_str_eq(conf_chroot_path(&c, c.zones[0].file),
			 "/zones/example.com.zone");
	ck_assert_str_eq(conf_chroot_path(&c, jail), "/");
	ck_assert_ptr_null(conf_chroot_path(&c, "/run/tandemd.pid"));
	snprintf(want, sizeof(want), "%sx/y", jail); /* a sibling, not under */
	ck_assert_ptr_null(conf_chroot_path(&c, want));

	/* Once chrooted every path is seen from inside. */
	conf_enter_chroot(&c);
	ck_assert(c.chrooted);
	ck_assert_str_eq(c.storage, "/var/db");
	ck_assert_str_eq(c.zones[0].file, "/zones/example.com.zone");
	ck_assert_str_eq(c.zones[1].file, "/var/db/example.net.zone");
	ck_assert_ptr_eq(c.zones[1].xfr.zonefile, c.zones[1].file);
	ck_assert_str_eq(c.zones[1].xfr.journal, "/var/db/example.net.journal");
	ck_assert_str_eq(c.zones[1].xfr.timers, "/var/db/example.net.timers");
	ck_assert_str_eq(c.control, "/var/db/tandemd.ctl");
	ck_assert_ptr_null(c.pidfile); /* out of reach */
	conf_enter_chroot(&c);	       /* a second time: nothing */
	ck_assert_str_eq(c.storage, "/var/db");
	conf_free(&c);

	/* "" and "/" are no chroot */
	ck_assert_int_eq(
	    parse_at(conf_path, "server:\n  chroot: \"\"\n", &c, &e), 0);
	ck_assert_ptr_null(c.chroot);
	conf_free(&c);
	ck_assert_int_eq(parse_at(conf_path, "server:\n  chroot: /\n", &c, &e),
			 0);
	ck_assert_ptr_null(c.chroot);
	conf_free(&c);

	/* Errors, with the line of the key at fault. */
	snprintf(text, sizeof(text), "server:\n  chroot: %s/none\n", dir);
	ck_assert_int_eq(parse_at(conf_path, text, &c, &e), ERR_SYNTAX);
	snprintf(want, sizeof(want), "%s:2: chroot %s/none: No such file",
		 conf_path, dir);
	ck_assert_msg(strstr(e.text, want), "got: %s", e.text);
	conf_free(&c);
	snprintf(text, sizeof(text), "server:\n  chroot: %s\n", file);
	ck_assert_int_eq(parse_at(conf_path, text, &c, &e), ERR_SYNTAX);
	snprintf(want, sizeof(want), "%s:2: chroot %s: not a directory",
		 conf_path, file);
	ck_assert_msg(strstr(e.text, want), "got: %s", e.text);
	conf_free(&c);
	snprintf(text, sizeof(text),
		 "server:\n  chroot: ..\n  storage: ../../db\n"
		 "zone:\n  name: example.com\n  file: /etc/example.com.zone\n"
		 "zone:\n  name: example.org\n  file: ../../jail/z\n");
	ck_assert_int_eq(parse_at(conf_path, text, &c, &e), ERR_SYNTAX);
	ck_assert_msg(e.count == 2, "got: %s", e.text);
	snprintf(want, sizeof(want),
		 "%s:3: storage %s/db is outside the chroot %s", conf_path, dir,
		 jail);
	ck_assert_msg(strstr(e.text, want), "got: %s", e.text);
	snprintf(want, sizeof(want),
		 "%s:6: zone 'example.com': file "
		 "/etc/example.com.zone is outside the chroot",
		 conf_path);
	ck_assert_msg(strstr(e.text, want), "got: %s", e.text);
	conf_free(&c);

	unlink(file);
	rmdir(jail);
	rmdir(dir);
}
END_TEST

/* reconfig re-reads the file: user: and chroot: cannot change, and a
 * chrooted server reads it from inside the chroot. */
START_TEST(reload_keeps_identity)
{
	char dir[] = "/tmp/tandem-reload-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/tandemd.conf", dir);
	bool nobody = getpwnam("nobody") != NULL;
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"server:\n  listen: 127.0.0.1@5353\n%s"
		"zone:\n  name: example.com\n  file: example.com.zone\n",
		nobody ? "  user: nobody\n" : "");
	fclose(f);

	struct conf running, c;
	struct errors e = {0};
	ck_assert_int_eq(conf_load(path, &running, collect, &e), 0);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_reload(&running, &c, collect, &e), 0);
	ck_assert_str_eq(c.zones[0].file, running.zones[0].file);
	if (nobody) {
		ck_assert_uint_eq(c.user.uid, running.user.uid);
		ck_assert_uint_eq(c.user.ngroups, running.user.ngroups);
	}
	conf_free(&c);

	/* user: changed (or added): refused, with its line */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "server:\n  listen: 127.0.0.1@5353\n  user: daemon\n");
	fclose(f);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_reload(&running, &c, collect, &e), ERR_SYNTAX);
	char want[200];
	snprintf(want, sizeof(want), "%s:3: user: daemon, but tandemd runs as",
		 path);
	ck_assert_msg(strstr(e.text, want), "got: %s", e.text);
	conf_free(&c);
	conf_free(&running);

	/* A chrooted server: the config at DIR/jail/t.conf is read as
	 * /t.conf (which this test, not chrooted, does not have). */
	char jail[160], inner[200];
	snprintf(jail, sizeof(jail), "%s/jail", dir);
	ck_assert_int_eq(mkdir(jail, 0755), 0);
	snprintf(inner, sizeof(inner), "%s/t.conf", jail);
	f = fopen(inner, "w");
	ck_assert_ptr_nonnull(f);
	fputs("server:\n  chroot: .\n", f);
	fclose(f);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_load(inner, &running, collect, &e), 0);
	conf_enter_chroot(&running);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_reload(&running, &c, collect, &e), ERR_IO);
	ck_assert_msg(
	    strstr(e.text, "cannot open (as /t.conf inside the chroot)"),
	    "got: %s", e.text);
	conf_free(&c);
	conf_free(&running);

	/* ... and one outside its chroot cannot be read at all. */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("server:\n  chroot: jail\n", f);
	fclose(f);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_load(path, &running, collect, &e), 0);
	conf_enter_chroot(&running);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(conf_reload(&running, &c, collect, &e), ERR_IO);
	ck_assert_msg(strstr(e.text, "is outside the chroot"), "got: %s",
		      e.text);
	conf_free(&c);
	conf_free(&running);

	unlink(inner);
	unlink(path);
	rmdir(jail);
	rmdir(dir);
}
END_TEST

/* Bytes of every value must never crash the parser. */
START_TEST(garbage_never_crashes)
{
	unsigned seed = 12345;
	char text[512];
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(text));
		for (size_t i = 0; i < len; i++) {
			/* Mostly config-ish characters. */
			static const char alphabet[] =
			    "server:zone:name file listen workers\"#\n\t "
			    "@.:0123456789abcdef";
			unsigned r = (unsigned)rand_r(&seed);
			text[i] =
			    (r % 8 == 0)
				? (char)(r >> 8)
				: alphabet[(r >> 8) % (sizeof(alphabet) - 1)];
		}
		struct conf c;
		struct errors e;
		memset(&e, 0, sizeof(e));
		conf_parse("g.conf", text, len, &c, collect, &e);
		conf_free(&c);
	}
}
END_TEST

/* DNS Cookies and response rate limiting (issue 9). */
START_TEST(cookies_and_rrl)
{
	struct conf c;
	struct errors e;
	ck_assert_int_eq(parse("server:\n"
			       "  cookie-secret: e5e973e5a6b2a43f48e7dc849e37bfcf\n"
			       "  cookie-secret: 000102030405060708090a0b0c0d0e0f\n"
			       "  cookie-require: yes\n"
			       "  rrl-rate: 20\n"
			       "  rrl-slip: 3\n"
			       "  rrl-ipv4-prefix: 32\n"
			       "  rrl-ipv6-prefix: 64\n"
			       "  rrl-exempt: 192.0.2.0/24\n"
			       "  rrl-exempt: 2001:db8::/32\n",
			       &c, &e), 0);
	ck_assert_uint_eq(c.ncookie_secrets, 2);
	ck_assert_uint_eq(c.cookie_secrets[0][0], 0xe5);
	ck_assert_uint_eq(c.cookie_secrets[1][15], 0x0f);
	ck_assert(c.cookie_require);
	ck_assert_uint_eq(c.rrl_rate, 20);
	ck_assert_uint_eq(c.rrl_slip, 3);
	ck_assert_uint_eq(c.rrl_ipv4_prefix, 32);
	ck_assert_uint_eq(c.rrl_ipv6_prefix, 64);
	ck_assert_uint_eq(c.nrrl_exempt, 2);
	ck_assert_uint_eq(c.rrl_exempt[1].family_len, 16);
	conf_free(&c);

	/* Defaults: no secret (a random one at start), limiting off, slip
	 * 2, /24 and /56. */
	ck_assert_int_eq(parse("server:\n  workers: 1\n", &c, &e), 0);
	ck_assert_uint_eq(c.ncookie_secrets, 0);
	ck_assert(!c.cookie_require);
	ck_assert_uint_eq(c.rrl_rate, 0);
	ck_assert_uint_eq(c.rrl_slip, 2);
	ck_assert_uint_eq(c.rrl_ipv4_prefix, 24);
	ck_assert_uint_eq(c.rrl_ipv6_prefix, 56);
	conf_free(&c);

	expect_error("server:\n  cookie-secret: abcd\n", 2,
		     "bad cookie-secret (expected 32 hex digits)");
	expect_error("server:\n  cookie-secret: "
		     "zz0102030405060708090a0b0c0d0e0f\n", 2,
		     "bad cookie-secret");
	expect_error("server:\n  cookie-require: maybe\n", 2,
		     "bad cookie-require 'maybe'");
	expect_error("server:\n  rrl-rate: -5\n", 2, "bad rrl-rate");
	expect_error("server:\n  rrl-slip: 101\n", 2, "bad rrl-slip");
	expect_error("server:\n  rrl-ipv4-prefix: 33\n", 2,
		     "bad rrl-ipv4-prefix");
	expect_error("server:\n  rrl-ipv6-prefix: 8\n", 2,
		     "bad rrl-ipv6-prefix");
	expect_error("server:\n\n  rrl-exempt: 10.0.0.0/40\n", 3,
		     "bad rrl-exempt '10.0.0.0/40'");
}
END_TEST

/* Resource limits (issue 9): TCP clients per worker, a connection's
 * whole life, a client's message size, the control socket's limits and a
 * transfer in's whole time. */
START_TEST(resource_limits)
{
	struct conf c;
	struct errors e;
	ck_assert_msg(parse("server:\n"
			    "  workers: 4\n"
			    "  tcp-max-clients: 10\n"
			    "  tcp-max-clients-per-worker: 300\n"
			    "  tcp-max-time: 600\n"
			    "  tcp-max-message-size: 512\n"
			    "  control-timeout: 30\n"
			    "  control-max-request: 1024\n"
			    "  control-max-clients: 4\n"
			    "  storage: /var/lib/tandem\n"
			    "zone:\n"
			    "  name: example.net\n"
			    "  primary: 192.0.2.1\n"
			    "  max-transfer-time-in: 60\n",
			    &c, &e) == 0,
		      "%s", e.text);
	ck_assert_uint_eq(c.tcp_max_clients_per_worker, 300);
	/* Set, it wins over the split of tcp-max-clients. */
	ck_assert_uint_eq(conf_tcp_clients_per_worker(&c), 300);
	ck_assert_uint_eq(c.tcp_max_time, 600);
	ck_assert_uint_eq(c.tcp_max_message_size, 512);
	ck_assert_uint_eq(c.control_timeout, 30);
	ck_assert_uint_eq(c.control_max_request, 1024);
	ck_assert_uint_eq(c.control_max_clients, 4);
	ck_assert_uint_eq(c.zones[0].xfr.transfer_timeout, 60);
	conf_free(&c);

	/* Defaults: tcp-max-clients split over the workers, rounded up; a
	 * connection lives 2 hours at most; any message a prefix can frame;
	 * the control socket as before; 2 hours for a transfer in. */
	ck_assert_msg(parse("server:\n  workers: 3\n"
			    "  storage: /var/lib/tandem\n"
			    "zone:\n  name: example.net\n"
			    "  primary: 192.0.2.1\n",
			    &c, &e) == 0,
		      "%s", e.text);
	ck_assert_uint_eq(c.tcp_max_clients_per_worker, 0);
	ck_assert_uint_eq(conf_tcp_clients_per_worker(&c),
			  (CONF_DEFAULT_TCP_MAX + 2) / 3);
	ck_assert_uint_eq(c.tcp_max_time, CONF_DEFAULT_TCP_MAX_TIME);
	ck_assert_uint_eq(c.tcp_max_time, 7200);
	ck_assert_uint_eq(c.tcp_max_message_size, 65535);
	ck_assert_uint_eq(c.control_timeout, CONTROL_TIMEOUT);
	ck_assert_uint_eq(c.control_max_request, CONTROL_MAX_REQUEST);
	ck_assert_uint_eq(c.control_max_clients, CONTROL_MAX_CLIENTS);
	ck_assert_uint_eq(c.zones[0].xfr.transfer_timeout,
			  XFRD_DEFAULT_TRANSFER_TIME);
	ck_assert_uint_eq(c.zones[0].xfr.transfer_timeout, 7200);
	conf_free(&c);

	/* The bounds themselves are accepted. */
	ck_assert_int_eq(parse("server:\n"
			       "  tcp-max-clients-per-worker: 1\n"
			       "  tcp-max-time: 604800\n"
			       "  tcp-max-message-size: 65535\n"
			       "  control-timeout: 1\n"
			       "  control-max-request: 65536\n"
			       "  control-max-clients: 1024\n",
			       &c, &e),
			 0);
	ck_assert_uint_eq(conf_tcp_clients_per_worker(&c), 1);
	conf_free(&c);

	expect_error("server:\n  tcp-max-clients-per-worker: 0\n", 2,
		     "bad tcp-max-clients-per-worker '0' (expected 1 to "
		     "1000000)");
	expect_error("server:\n  tcp-max-clients-per-worker: many\n", 2,
		     "bad tcp-max-clients-per-worker 'many'");
	expect_error("server:\n  tcp-max-time: 0\n", 2,
		     "bad tcp-max-time '0' (expected 1 to 604800 seconds)");
	expect_error("server:\n  tcp-max-time: 604801\n", 2,
		     "bad tcp-max-time '604801'");
	expect_error("server:\n  tcp-max-time: 10s\n", 2,
		     "bad tcp-max-time '10s'");
	expect_error("server:\n  tcp-max-message-size: 511\n", 2,
		     "bad tcp-max-message-size '511' (expected 512 to 65535 "
		     "octets)");
	expect_error("server:\n  tcp-max-message-size: 65536\n", 2,
		     "bad tcp-max-message-size '65536'");
	expect_error("server:\n  control-timeout: 0\n", 2,
		     "bad control-timeout '0' (expected 1 to 3600 seconds)");
	expect_error("server:\n  control-timeout: 3601\n", 2,
		     "bad control-timeout '3601'");
	expect_error("server:\n  control-max-request: 255\n", 2,
		     "bad control-max-request '255' (expected 256 to 65536 "
		     "octets)");
	expect_error("server:\n  control-max-request: 65537\n", 2,
		     "bad control-max-request '65537'");
	expect_error("server:\n  control-max-clients: 0\n", 2,
		     "bad control-max-clients '0' (expected 1 to 1024)");
	expect_error("server:\n  control-max-clients: 1025\n", 2,
		     "bad control-max-clients '1025'");
	expect_error("server:\n  tcp-max-time: 10\n  tcp-max-time: 20\n", 3,
		     "duplicate 'tcp-max-time'");
	expect_error("zone:\n  name: example.net\n  file: x.zone\n"
		     "  max-transfer-time-in: 0\n",
		     4,
		     "bad max-transfer-time-in '0' (expected 1 to 2419200 "
		     "seconds)");
	expect_error("zone:\n  name: example.net\n  file: x.zone\n"
		     "  max-transfer-time-in: 2419201\n",
		     4, "bad max-transfer-time-in '2419201'");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_config);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, hide_and_nsid_hex);
	tcase_add_test(tc, errors_with_lines);
	tcase_add_test(tc, all_errors_reported);
	tcase_add_test(tc, bad_zone_name);
	tcase_add_test(tc, long_and_binary_lines);
	tcase_add_test(tc, listen_forms);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, user_forms);
	tcase_add_test(tc, user_errors);
	tcase_add_test(tc, chroot_paths);
	tcase_add_test(tc, reload_keeps_identity);
	tcase_add_test(tc, garbage_never_crashes);
	tcase_add_test(tc, cookies_and_rrl);
	tcase_add_test(tc, resource_limits);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
