namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>Refuses a generation a builder cannot write as its worker would, rather than silently dropping part of it.</summary>
internal static class Modelled
{
    public static void Require(bool supported, string worker, string feature)
    {
        if (!supported)
        {
            throw new NotSupportedException($"{worker}: {feature} is not modelled by this builder.");
        }
    }
}
