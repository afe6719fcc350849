namespace Dynamo.Sidecar.SoakTool.Checks;

/// <summary>The soak's verdicts, printed as they are made; the last line totals them in the form CI adds up.</summary>
internal sealed class CheckList(TextWriter output)
{
    public int Passed { get; private set; }

    public int Failed { get; private set; }

    public void Check(bool passed, string what, string detail = "")
    {
        if (passed)
        {
            Passed++;
        }
        else
        {
            Failed++;
        }

        output.WriteLine($"  [{(passed ? "PASS" : "FAIL")}] {what}{(detail.Length > 0 ? $": {detail}" : "")}");
    }

    public void Equal(double expected, double actual, string what) =>
        Check(expected == actual, what, $"expected {expected:0.###}, got {actual:0.###}");

    public void Summary() => output.WriteLine($"{Passed} passed, {Failed} failed");
}
