namespace ModelGen.Samples.LinearRegression;

/// <summary>Keras: <c>Sequential([Dense(1, input_shape=(1,))])</c> compiled with mean squared error.</summary>
[Model(Loss = Loss.MeanSquaredError)]
[Input(1)]
[Dense(1)]
public partial class LinearRegression;
