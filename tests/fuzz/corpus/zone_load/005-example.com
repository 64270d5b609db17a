; A zone with every common RR type and the structures lookups must handle.
$ORIGIN example.com.
$TTL 3600
@	IN SOA ns1.example.com. hostmaster.example.com. (
		2024010101 ; serial
		7200       ; refresh
		900        ; retry
		1209600    ; expire
		300 )      ; minimum
	IN NS ns1
	IN NS ns2.example.net.
	IN MX 10 mail
	IN MX 20 mail.example.net.
	IN TXT "v=spf1 -all"
	IN CAA 0 issue "ca.example.net"
	IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
	IN NSEC3PARAM 1 0 10 abcdef
ns1	IN A 192.0.2.1
	IN AAAA 2001:db8::1
mail	IN A 192.0.2.2
	IN AAAA 2001:db8::2
www	IN CNAME mail
ftp	600 IN CNAME www
_sip._udp	IN SRV 10 60 5060 sip
sip	IN A 192.0.2.5
2.0.192.in-addr	IN PTR mail
naptr	IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.com.
host	IN HINFO "PC" "Linux"
	IN SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
_443._tcp.www	IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
rp	IN RP admin.example.com. text.example.com.
afs	IN AFSDB 1 afsdb.example.com.
uri	IN URI 10 1 "https://www.example.com/"
svc	IN SVCB 1 svc-target.example.net. alpn="h2,h3" port=8443
svc	IN HTTPS 1 . alpn=h2
sig	IN A 192.0.2.9
	IN RRSIG A 13 3 3600 20300101000000 20200101000000 12345 example.com. aGVsbG8gd29ybGQ=
	IN NSEC tail.example.com. A RRSIG NSEC
unknown	IN TYPE65280 \# 4 deadbeef
; a delegation with in-bailiwick glue, and one with out-of-bailiwick NS
sub	IN NS ns.sub
	IN NS ns.example.net.
	IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub	IN A 192.0.2.53
	IN AAAA 2001:db8::53
deep.below.sub	IN A 192.0.2.54
other	IN NS ns.example.net.
; wildcards, and an empty non-terminal (a.ent) blocking one
*.wild	IN A 192.0.2.100
	IN TXT "wildcard"
*.cname	IN CNAME www
x.a.ent	IN A 192.0.2.7
*	IN TXT "apex wildcard"
; DNAME
dn	IN DNAME example.net.
; escapes
weird\.name	IN A 192.0.2.8
sp\032ace	IN A 192.0.2.10
