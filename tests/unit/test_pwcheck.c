/* test_pwcheck.c: unit tests of the blocklist and personal-data password rules (pwcheck.c). */
#include <string.h>

#include "service/core/core.h"
#include "tests/check.h"

static const struct auth_person wang = {"wangli", "Wang Li", "li.wang@example.cn",
                                        "+86 138-1234-5678"};

/* The rule a password breaks, as a word of the sentence, or NULL. */
static int
refused_for(const char *pw, const char *word)
{
	const char *why = auth_password_refused(&wang, pw);

	return why != NULL && strstr(why, word) != NULL;
}

static void
common_passwords(struct t *t)
{
	/* Passw0rd! passes length and classes, but is "password" with look-alikes around it. */
	CHECK(t, auth_password_weak("wangli", "Passw0rd!") == NULL);
	CHECK(t, refused_for("Passw0rd!", "common password"));
	CHECK(t, refused_for("P@ssword123", "common password"));
	CHECK(t, refused_for("Qwerty123!", "common password"));
	CHECK(t, refused_for("!Dragon2024", "common password"));
	CHECK(t, refused_for("W0aini1314!", "common password"));
	CHECK(t, refused_for("1qaz2WSX!", "common password"));
	CHECK(t, refused_for("L3tmein!!", "common password"));
}

static void
personal_data(struct t *t)
{
	CHECK(t, refused_for("Wangli-2024", "account name"));
	CHECK(t, refused_for("W4ngl1#2024", "account name"));
	CHECK(t, refused_for("xWang-Li-99", "display name"));
	{
		struct auth_person zhou = {"jzhou", NULL, "zhoujie@example.cn", NULL};
		const char *why = auth_password_refused(&zhou, "Q!zhoujie-99x");

		CHECK(t, why != NULL && strstr(why, "e-mail") != NULL);
	}
	/* The user's name and own phone number. */
	CHECK(t, refused_for("Li#13812345678", "phone"));
	CHECK(t, refused_for("Xy!12345678", "phone"));
	CHECK(t, refused_for("Zz-381234", "phone"));
}

static void
accepted(struct t *t)
{
	CHECK(t, auth_password_refused(&wang, "Test-Passw0rd") == NULL);
	CHECK(t, auth_password_refused(&wang, "Str0ngPass") == NULL);
	CHECK(t, auth_password_refused(&wang, "Horse-Battery-9") == NULL);
	CHECK(t, auth_password_refused(&wang, "密码Password1") == NULL);
	CHECK(t, auth_password_refused(&wang, "Kx7#mq2-Lp") == NULL);
	/* five digits of the phone in a row are not enough to count */
	CHECK(t, auth_password_refused(&wang, "Tree-12345x") == NULL);
	/* nothing known but the name */
	{
		struct auth_person bare = {"bob", NULL, NULL, NULL};

		CHECK(t, auth_password_refused(&bare, "Str0ngPass") == NULL);
		CHECK(t, auth_password_refused(&bare, "Passw0rd!") != NULL);
	}
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, common_passwords);
	RUN(&t, personal_data);
	RUN(&t, accepted);
	return t_done(&t);
}
