using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

/// <summary>The report's two charts as SVG (benchmarks/run turns them into PNG with rsvg-convert).</summary>
internal static class Charts
{
    private const int Width = 720, Height = 400, Left = 80, Right = 120, Top = 40, Bottom = 60;
    private static readonly string[] Colors = ["#3867d6", "#eb3b5a", "#20bf6b"];
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>A value against connections (log scale), one line per series.</summary>
    public static string Lines(string title, string yLabel, IReadOnlyList<(string Series, int X, double Y)> points)
    {
        int[] xs = points.Select(p => p.X).Distinct().Order().ToArray();
        double max = NiceMax(points.Max(p => p.Y));
        double X(int x) => Left + (Width - Left - Right) * (xs.Length == 1 ? 0 : Math.Log(x / (double)xs[0]) / Math.Log(xs[^1] / (double)xs[0]));
        double Y(double y) => Height - Bottom - (Height - Bottom - Top) * y / max;
        var svg = Frame(title, "connections (log scale)", yLabel, max, Y);
        foreach (int x in xs)
        {
            svg.AppendLine(Ci, $"<text x=\"{X(x):F0}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{x}</text>");
        }

        int k = 0;
        foreach (var series in points.GroupBy(p => p.Series))
        {
            string color = Colors[k % Colors.Length];
            string line = string.Join(' ', series.OrderBy(p => p.X).Select(p => string.Create(Ci, $"{X(p.X):F1},{Y(p.Y):F1}")));
            svg.AppendLine(Ci, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\" points=\"{line}\"/>");
            foreach (var p in series)
            {
                svg.AppendLine(Ci, $"<circle cx=\"{X(p.X):F1}\" cy=\"{Y(p.Y):F1}\" r=\"3.5\" fill=\"{color}\"/>");
            }

            Legend(svg, k++, series.Key, color);
        }

        return svg.AppendLine("</svg>").ToString();
    }

    /// <summary>Grouped bars: one group per category, one bar per series.</summary>
    public static string Bars(string title, string yLabel, IReadOnlyList<(string Category, string Series, double Y)> bars)
    {
        string[] categories = bars.Select(b => b.Category).Distinct().ToArray();
        string[] series = bars.Select(b => b.Series).Distinct().ToArray();
        double max = NiceMax(bars.Max(b => b.Y));
        double Y(double y) => Height - Bottom - (Height - Bottom - Top) * y / max;
        var svg = Frame(title, "", yLabel, max, Y);
        double group = (Width - Left - Right) / (double)categories.Length;
        double bar = group * 0.8 / series.Length;
        for (int c = 0; c < categories.Length; c++)
        {
            double x0 = Left + c * group + group * 0.1;
            svg.AppendLine(Ci, $"<text x=\"{x0 + group * 0.4:F0}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{Escape(categories[c])}</text>");
            for (int s = 0; s < series.Length; s++)
            {
                double value = bars.Where(b => b.Category == categories[c] && b.Series == series[s]).Select(b => b.Y).FirstOrDefault();
                svg.AppendLine(Ci, $"<rect x=\"{x0 + s * bar:F1}\" y=\"{Y(value):F1}\" width=\"{bar - 2:F1}\" height=\"{Height - Bottom - Y(value):F1}\" fill=\"{Colors[s % Colors.Length]}\"/>");
            }
        }

        for (int s = 0; s < series.Length; s++)
        {
            Legend(svg, s, series[s], Colors[s % Colors.Length]);
        }

        return svg.AppendLine("</svg>").ToString();
    }

    private static StringBuilder Frame(string title, string xLabel, string yLabel, double max, Func<double, double> y)
    {
        var svg = new StringBuilder();
        svg.AppendLine(Ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">");
        svg.AppendLine(Ci, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine(Ci, $"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>");
        for (int i = 0; i <= 4; i++)
        {
            double v = max * i / 4;
            svg.AppendLine(Ci, $"<line x1=\"{Left}\" y1=\"{y(v):F1}\" x2=\"{Width - Right}\" y2=\"{y(v):F1}\" stroke=\"#ddd\"/>");
            svg.AppendLine(Ci, $"<text x=\"{Left - 6}\" y=\"{y(v) + 4:F0}\" text-anchor=\"end\">{v:0.##}</text>");
        }

        svg.AppendLine(Ci, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        svg.AppendLine(Ci, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        svg.AppendLine(Ci, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 16}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
        svg.AppendLine(Ci, $"<text x=\"18\" y=\"{(Height - Bottom + Top) / 2}\" transform=\"rotate(-90 18 {(Height - Bottom + Top) / 2})\" text-anchor=\"middle\">{Escape(yLabel)}</text>");
        return svg;
    }

    private static void Legend(StringBuilder svg, int index, string name, string color)
    {
        int y = Top + 10 + 22 * index;
        svg.AppendLine(Ci, $"<rect x=\"{Width - Right + 14}\" y=\"{y - 10}\" width=\"14\" height=\"14\" fill=\"{color}\"/>");
        svg.AppendLine(Ci, $"<text x=\"{Width - Right + 34}\" y=\"{y + 2}\">{Escape(name)}</text>");
    }

    /// <summary>1, 2 or 5 times a power of ten, just above the largest value, so that the axis reads well.</summary>
    private static double NiceMax(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        return new[] { 1, 2, 2.5, 5, 10, 20 }.Select(f => f * magnitude).First(m => m >= value * 1.05);
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
