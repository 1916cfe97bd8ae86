/* kakaowatch: argv -> command table (placeholder until the commands land) */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("kakaowatch %s\n", KW_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: kakaowatch COMMAND [ARGS]\n");
	return 2;
}
