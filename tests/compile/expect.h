/* expect.h - the comparison the code-generation harnesses share: count the
 * checks, print the first 20 that fail. */
#ifndef PHYSC_TEST_EXPECT_H
#define PHYSC_TEST_EXPECT_H

#include <math.h>
#include <stdio.h>

static int failures, checks;

/* |got - want| <= rel * max(|got|, |want|) + abs_floor */
static void expect_close(const char *what, double got, double want, double rel, double abs_floor)
{
    checks++;
    double err = fabs(got - want);
    if (!(err <= rel * fmax(fabs(got), fabs(want)) + abs_floor)) {
        failures++;
        if (failures <= 20) printf("FAIL %s: got %.15g, expected %.15g (error %.3g)\n", what, got, want, err);
    }
}

#endif
