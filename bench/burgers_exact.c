/* The exact solution of the Raissi Burgers problem (u_t + u u_x = nu u_xx,
 * nu = 0.01/pi, u(x, 0) = -sin(pi x), u(+-1, t) = 0) by the Cole-Hopf
 * transform:
 *   u(x, t) = - int sin(pi (x - s)) f(x - s) G(s) ds / int f(x - s) G(s) ds,
 *   f(y) = exp(-cos(pi y) / (2 pi nu)),  G(s) = exp(-s^2 / (4 nu t)),
 * both integrals by the trapezoid rule on +-12 kernel widths (exponentially
 * accurate for these smooth integrands), exponents shifted by their maximum
 * so nothing overflows.
 *
 * Reads CSV rows x,t,u (a header line is skipped) from standard input and
 * prints the relative L2 error of u against the exact solution, and the
 * largest pointwise error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const double PI = 3.14159265358979323846;

double burgers_exact(double x, double t)
{
    const double nu = 0.01 / PI;
    if (t <= 0) return -sin(PI * x);
    enum { N = 8001 };
    double width = sqrt(4 * nu * t), lo = -12 * width, h = 24 * width / (N - 1);
    double emax = -INFINITY;
    for (int i = 0; i < N; i++) {
        double s = lo + i * h;
        double e = -cos(PI * (x - s)) / (2 * PI * nu) - s * s / (4 * nu * t);
        if (e > emax) emax = e;
    }
    double num = 0, den = 0;
    for (int i = 0; i < N; i++) {
        double s = lo + i * h;
        double w = exp(-cos(PI * (x - s)) / (2 * PI * nu) - s * s / (4 * nu * t) - emax);
        if (i == 0 || i == N - 1) w *= 0.5;
        num += sin(PI * (x - s)) * w;
        den += w;
    }
    return -num / den;
}

int main(void)
{
    char line[512];
    double err2 = 0, ref2 = 0, worst = 0;
    long rows = 0;
    while (fgets(line, sizeof line, stdin)) {
        double x, t, u;
        if (sscanf(line, "%lf,%lf,%lf", &x, &t, &u) != 3) continue; /* header */
        double ue = burgers_exact(x, t);
        err2 += (u - ue) * (u - ue);
        ref2 += ue * ue;
        if (fabs(u - ue) > worst) worst = fabs(u - ue);
        rows++;
    }
    if (rows == 0) {
        fputs("burgers_exact: no rows x,t,u on standard input\n", stderr);
        return 1;
    }
    printf("points %ld  relative L2 error %.3e  max error %.3e\n", rows, sqrt(err2 / ref2), worst);
    return 0;
}
